//! Reads, read-only, what the status shows about a database file: the
//! `metadata` row (schema version, generated-at, trace links), the row counts
//! of the domain tables, and SQLite's `quick_check`.
//!
//! Metadata and row counts are *information*, read from a file anyone may have
//! written: only real tables are read (a view can run any query, e.g. an endless
//! recursive CTE), the whole reading has a time budget ([`INSPECT_BUDGET`], enforced
//! by SQLite's progress handler, which also stops it when a [`Cancel`] fires), and
//! every value is cut to [`MAX_METADATA_VALUE`] bytes. What could not be read is
//! listed in [`Inspection::unread`]; it never stops a verified file from being
//! published.
//!
//! Files are opened with `immutable=1`: SQLite takes no locks and never
//! creates `-wal`, `-shm` or `-journal` files next to the file, so inspecting
//! leaves the POS app's folder (and a hidden staged copy) exactly as it was.
//! That is safe because our files are never changed in place, only replaced.
//! A missing table, column or row is reported as missing (`None`), never as an
//! error; a file SQLite cannot read is an error naming the file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use crate::error_kind::ErrorKind;

/// The `metadata` row of a domain database. `None` means the table, the
/// column or the row is missing, or the value is NULL; numbers are shown as
/// text.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Metadata {
    pub schema_version: Option<String>,
    pub generated_at: Option<String>,
    pub linked_trace_id: Option<String>,
    pub linked_trace_state: Option<String>,
    pub linked_span_id: Option<String>,
}

/// What [`inspect`] read from a database file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inspection {
    pub metadata: Metadata,
    /// Row count per requested table; `None` when the table is missing. A table that
    /// could not be counted is not here but in `unread`.
    pub row_counts: BTreeMap<String, Option<u64>>,
    /// What could not be read, and why, one line each ("row count of \"offers\": …").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

/// Longest time the metadata and row counts of one file may take together; what is
/// left unread then is named in [`Inspection::unread`]. A domain database's counts
/// take milliseconds (a 256 MB one well under a second).
pub const INSPECT_BUDGET: Duration = Duration::from_secs(5);

/// Longest metadata value kept, in bytes (longer ones are cut, with `…`): W3C's own
/// limit for `tracestate`, the longest field a real database writes.
pub const MAX_METADATA_VALUE: usize = 512;

/// How many SQLite VM steps between two looks at the clock.
const PROGRESS_STEPS: i32 = 10_000;

/// Stops a running inspection from another thread: the task waiting for it went away
/// (the sync was aborted, the app is quitting).
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What a name in the schema is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SchemaKind {
    Table,
    /// A view or a virtual table: reading it runs code of the file's making.
    NotATable(&'static str),
}

/// Why a database file could not be inspected.
///
/// The SQLite error is part of the message rather than a `source()`, so that
/// the one-line message shown in the status is complete on its own.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(
        "cannot open database {} read-only: {cause} — check that the file exists and is readable",
        path.display()
    )]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },

    #[error(
        "cannot read the {what} of database {}: {cause} — the file is not a readable \
         SQLite database; resync to replace it",
        path.display()
    )]
    Read {
        path: PathBuf,
        what: String,
        cause: rusqlite::Error,
    },

    #[error(
        "database {} failed SQLite's quick_check: {} — the copy is corrupt; resync to replace it",
        path.display(),
        summarize(problems, *total)
    )]
    Corrupt {
        path: PathBuf,
        /// The first few problems quick_check reported.
        problems: Vec<String>,
        /// How many problems it reported in all.
        total: usize,
    },
}

impl InspectError {
    /// A short snake_case kind: `cannot_open`, `not_a_database`, `corrupt`,
    /// `unreadable` or `quick_check_failed`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            InspectError::Open { .. } => ErrorKind::CannotOpen,
            InspectError::Read { cause, .. } => match cause.sqlite_error_code() {
                Some(ErrorCode::NotADatabase) => ErrorKind::NotADatabase,
                Some(ErrorCode::DatabaseCorrupt) => ErrorKind::Corrupt,
                _ => ErrorKind::Unreadable,
            },
            InspectError::Corrupt { .. } => ErrorKind::QuickCheckFailed,
        }
    }
}

/// How many quick_check problems an error keeps and shows.
const MAX_PROBLEMS: usize = 5;

/// Where each `metadata` column goes in [`Metadata`].
type Field = fn(&mut Metadata) -> &mut Option<String>;
const METADATA_FIELDS: [(&str, Field); 5] = [
    ("schema_version", |m| &mut m.schema_version),
    ("generated_at", |m| &mut m.generated_at),
    ("linked_trace_id", |m| &mut m.linked_trace_id),
    ("linked_trace_state", |m| &mut m.linked_trace_state),
    ("linked_span_id", |m| &mut m.linked_span_id),
];

/// Opens `path` read-only and immutable (see the module doc): no locks, no
/// side files, any file name (spaces, `?`, `#`, hidden temp names).
pub fn open_readonly(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        sqlite_uri(path),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Reads the metadata row and the row counts of `tables` (names from the
/// config; missing tables count as `None`) within [`INSPECT_BUDGET`].
pub fn inspect(path: &Path, tables: &[String]) -> Result<Inspection, InspectError> {
    inspect_within(path, tables, INSPECT_BUDGET, &Cancel::default())
}

/// [`inspect`] with its own budget, stopped early when `cancel` fires. Only a file
/// whose schema cannot be read at all is an error; anything else that cannot be read
/// (a view, an interrupted count, a failing read) is listed in `unread`.
pub fn inspect_within(
    path: &Path,
    tables: &[String],
    budget: Duration,
    cancel: &Cancel,
) -> Result<Inspection, InspectError> {
    inspect_open(open(path)?, path, tables, budget, cancel)
}

/// [`inspect_within`] through `conn`, opened on `path` before with [`open_readonly`]: it
/// reads the file it opened whatever its name is by then (a staged copy that was
/// published while it was read); `path` is for messages.
pub fn inspect_open(
    conn: Connection,
    path: &Path,
    tables: &[String],
    budget: Duration,
    cancel: &Cancel,
) -> Result<Inspection, InspectError> {
    let deadline = Instant::now() + budget;
    let watch = cancel.clone();
    conn.progress_handler(
        PROGRESS_STEPS,
        Some(move || watch.cancelled() || Instant::now() >= deadline),
    );
    let stopped = || {
        if cancel.cancelled() {
            Some("stopped (the app stopped waiting for it)".to_string())
        } else if Instant::now() >= deadline {
            Some(format!(
                "not read within {budget:?} (the time allowed for a file's metadata and row counts)"
            ))
        } else {
            None
        }
    };
    let why = |cause: rusqlite::Error| -> String {
        match cause.sqlite_error_code() {
            Some(ErrorCode::OperationInterrupted) => stopped().unwrap_or_else(|| cause.to_string()),
            _ => cause.to_string(),
        }
    };
    let schema = read_schema(&conn).map_err(|cause| InspectError::Read {
        path: path.to_path_buf(),
        what: "schema".to_string(),
        cause,
    })?;
    let mut unread = Vec::new();
    let metadata = match schema.get("metadata") {
        None => Metadata::default(),
        Some(SchemaKind::NotATable(what)) => {
            unread.push(format!("metadata: it is a {what}, not a table; not read"));
            Metadata::default()
        }
        Some(SchemaKind::Table) => match stopped() {
            Some(reason) => {
                unread.push(format!("metadata: {reason}"));
                Metadata::default()
            }
            None => read_metadata(&conn).unwrap_or_else(|cause| {
                unread.push(format!("metadata: {}", why(cause)));
                Metadata::default()
            }),
        },
    };
    let mut row_counts = BTreeMap::new();
    for table in tables {
        let shown = format!("row count of {table:?}");
        match schema.get(&table.to_lowercase()) {
            None => {
                row_counts.insert(table.clone(), None);
            }
            Some(SchemaKind::NotATable(what)) => {
                unread.push(format!("{shown}: it is a {what}, not a table; not counted"));
            }
            Some(SchemaKind::Table) => {
                match stopped().map_or_else(|| count_rows(&conn, table).map_err(why), Err) {
                    Ok(count) => {
                        row_counts.insert(table.clone(), Some(count));
                    }
                    Err(reason) => unread.push(format!("{shown}: {reason}")),
                }
            }
        }
    }
    Ok(Inspection {
        metadata,
        row_counts,
        unread: unread.into_iter().map(bounded).collect(),
    })
}

/// Runs `PRAGMA quick_check`; anything but a single `ok` row is an error
/// listing the first few problems.
pub fn quick_check(path: &Path) -> Result<(), InspectError> {
    let conn = open(path)?;
    let rows = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(|cause| match cause.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) => InspectError::Corrupt {
                path: path.to_path_buf(),
                problems: vec![cause.to_string()],
                total: 1,
            },
            _ => InspectError::Read {
                path: path.to_path_buf(),
                what: "quick_check".to_string(),
                cause,
            },
        })?;
    if rows == ["ok"] {
        return Ok(());
    }
    let problems = problem_lines(&rows);
    Err(InspectError::Corrupt {
        path: path.to_path_buf(),
        total: problems.len(),
        problems: problems
            .into_iter()
            .take(MAX_PROBLEMS)
            .map(bounded)
            .collect(),
    })
}

fn open(path: &Path) -> Result<Connection, InspectError> {
    open_readonly(path).map_err(|cause| InspectError::Open {
        path: path.to_path_buf(),
        cause,
    })
}

/// The tables, views and virtual tables of the main schema, by lower-case name (SQLite's
/// names are case-insensitive).
fn read_schema(conn: &Connection) -> rusqlite::Result<HashMap<String, SchemaKind>> {
    let mut stmt = conn.prepare(
        "SELECT name, type, sql LIKE 'CREATE VIRTUAL%' FROM main.sqlite_master \
         WHERE type IN ('table', 'view')",
    )?;
    let rows = stmt.query_map([], |row| {
        let name: String = row.get(0)?;
        let kind = match (row.get::<_, String>(1)?.as_str(), row.get::<_, bool>(2)?) {
            ("view", _) => SchemaKind::NotATable("view"),
            (_, true) => SchemaKind::NotATable("virtual table"),
            _ => SchemaKind::Table,
        };
        Ok((name.to_lowercase(), kind))
    })?;
    rows.collect()
}

/// The first row of the `metadata` table, with the columns it has, each value cut
/// to [`MAX_METADATA_VALUE`] bytes (SQLite's `substr` hands over no more than that).
fn read_metadata(conn: &Connection) -> rusqlite::Result<Metadata> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('metadata')")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let present: Vec<(&str, Field)> = METADATA_FIELDS
        .into_iter()
        .filter(|(name, _)| columns.iter().any(|c| c.eq_ignore_ascii_case(name)))
        .collect();
    if present.is_empty() {
        return Ok(Metadata::default());
    }
    let select: Vec<String> = present
        .iter()
        .map(|(name, _)| {
            format!(
                "substr({}, 1, {})",
                quote_identifier(name),
                MAX_METADATA_VALUE + 1
            )
        })
        .collect();
    let sql = format!("SELECT {} FROM main.metadata LIMIT 1", select.join(", "));
    let metadata = conn
        .query_row(&sql, [], |row| {
            let mut metadata = Metadata::default();
            for (i, (_, field)) in present.iter().enumerate() {
                *field(&mut metadata) = text_of(row.get_ref(i)?).map(bounded);
            }
            Ok(metadata)
        })
        .optional()?;
    Ok(metadata.unwrap_or_default())
}

/// `text` cut to at most [`MAX_METADATA_VALUE`] bytes (on a character boundary),
/// ending in `…` when it was cut.
pub fn bounded(text: String) -> String {
    if text.len() <= MAX_METADATA_VALUE {
        return text;
    }
    let ellipsis = '…';
    let mut end = MAX_METADATA_VALUE - ellipsis.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = text[..end].to_string();
    cut.push(ellipsis);
    cut
}

/// `COUNT(*)` of the real table `table`.
fn count_rows(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    let sql = format!("SELECT COUNT(*) FROM main.{}", quote_identifier(table));
    conn.query_row(&sql, [], |row| row.get(0))
}

/// The `file:` URI for `path` with `immutable=1`. Every byte but unreserved
/// characters and `/` is percent-encoded, so spaces, `?`, `#` and `%` in
/// folder names stay part of the path.
fn sqlite_uri(path: &Path) -> String {
    let mut uri = String::from(if path.is_absolute() {
        "file://"
    } else {
        "file:"
    });
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// `name` as an SQL identifier: double-quoted, inner quotes doubled.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A metadata value as text; NULL is `None`.
fn text_of(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
    }
}

/// One problem per line from quick_check's rows: SQLite packs several
/// newline-separated problems into one row, under a
/// `*** in database main ***` heading that says nothing useful here.
fn problem_lines(rows: &[String]) -> Vec<String> {
    rows.iter()
        .flat_map(|row| row.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_heading(line))
        .map(String::from)
        .collect()
}

fn is_heading(line: &str) -> bool {
    line.starts_with("*** in database ") && line.ends_with(" ***")
}

/// The problems of a failed quick_check, for a one-line message.
fn summarize(problems: &[String], total: usize) -> String {
    if total == 0 {
        return "it reported nothing, not even ok".to_string();
    }
    let shown = problems.join("; ");
    match total.saturating_sub(problems.len()) {
        0 => shown,
        more => format!("{shown}; and {more} more"),
    }
}

/// A `generated_at` value as the databases write it: RFC 3339, or SQLite's
/// `YYYY-MM-DD HH:MM:SS` (UTC). `None` for text that is no time at all.
pub fn parse_generated_at(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = text.trim();
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_TABLES;
    use std::fs;
    use tempfile::TempDir;

    fn default_tables() -> Vec<String> {
        DEFAULT_TABLES.map(String::from).to_vec()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// A database at `path` built by `sql` (closed, so no side files remain).
    fn create(path: &Path, sql: &str) {
        Connection::open(path).unwrap().execute_batch(sql).unwrap();
    }

    /// The full domain schema: table `i` of DEFAULT_TABLES holds `i` rows.
    fn domain_sql() -> String {
        let mut sql = String::from(
            "CREATE TABLE metadata (generated_at TEXT, schema_version TEXT, \
             linked_trace_id TEXT, linked_trace_state TEXT, linked_span_id TEXT);
             INSERT INTO metadata VALUES ('2026-11-25T13:58:00Z', '7', 'trace-1', 'state-1', 'span-1');",
        );
        for (i, table) in DEFAULT_TABLES.iter().enumerate() {
            sql.push_str(&format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT);"
            ));
            for row in 0..i {
                sql.push_str(&format!("INSERT INTO {table} (name) VALUES ('row {row}');"));
            }
        }
        sql
    }

    #[test]
    fn reads_the_full_schema() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("1764079392-Domain.sqlite3");
        create(&path, &domain_sql());

        let inspection = inspect(&path, &default_tables()).unwrap();

        assert_eq!(
            inspection.metadata,
            Metadata {
                schema_version: Some("7".into()),
                generated_at: Some("2026-11-25T13:58:00Z".into()),
                linked_trace_id: Some("trace-1".into()),
                linked_trace_state: Some("state-1".into()),
                linked_span_id: Some("span-1".into()),
            }
        );
        let expected: BTreeMap<String, Option<u64>> = DEFAULT_TABLES
            .iter()
            .enumerate()
            .map(|(i, table)| (table.to_string(), Some(i as u64)))
            .collect();
        assert_eq!(inspection.row_counts, expected);
        quick_check(&path).unwrap();
    }

    #[test]
    fn missing_tables_are_none() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("db");
        create(
            &path,
            "CREATE TABLE products (id INTEGER PRIMARY KEY);
             INSERT INTO products DEFAULT VALUES;
             CREATE VIEW offers AS SELECT 1 UNION ALL SELECT 2;",
        );

        let inspection = inspect(&path, &default_tables()).unwrap();

        assert_eq!(inspection.metadata, Metadata::default());
        assert_eq!(inspection.row_counts.len(), 8, "the view is not counted");
        assert_eq!(inspection.row_counts["products"], Some(1));
        assert_eq!(inspection.row_counts["departments"], None);
        assert_eq!(inspection.row_counts["product_ranges"], None);
        assert_eq!(
            inspection.unread,
            ["row count of \"offers\": it is a view, not a table; not counted"]
        );
    }

    /// A view that never ends: `SELECT` from it runs until interrupted.
    const ENDLESS: &str =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n";

    #[test]
    fn views_over_endless_queries_are_named_not_read() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("db");
        create(
            &path,
            &format!(
                "CREATE TABLE products (id INTEGER PRIMARY KEY);
                 INSERT INTO products DEFAULT VALUES;
                 CREATE VIEW offers AS {ENDLESS};
                 CREATE VIEW metadata AS SELECT i AS schema_version, i AS generated_at FROM ({ENDLESS}) ORDER BY i DESC;"
            ),
        );

        let inspection = inspect(&path, &default_tables()).unwrap();

        assert_eq!(inspection.metadata, Metadata::default());
        assert_eq!(inspection.row_counts["products"], Some(1));
        assert!(!inspection.row_counts.contains_key("offers"));
        assert_eq!(
            inspection.unread,
            [
                "metadata: it is a view, not a table; not read",
                "row count of \"offers\": it is a view, not a table; not counted",
            ]
        );
        quick_check(&path).unwrap();
    }

    #[test]
    fn what_the_budget_or_a_cancel_leaves_unread_is_named() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("db");
        create(&path, &domain_sql());

        let spent =
            inspect_within(&path, &default_tables(), Duration::ZERO, &Cancel::default()).unwrap();
        assert!(spent.row_counts.is_empty(), "{:?}", spent.row_counts);
        assert_eq!(spent.unread.len(), 1 + DEFAULT_TABLES.len());
        assert!(
            spent
                .unread
                .iter()
                .all(|u| u.contains("not read within 0ns")),
            "{:?}",
            spent.unread
        );

        let cancel = Cancel::default();
        cancel.cancel();
        let stopped = inspect_within(&path, &default_tables(), INSPECT_BUDGET, &cancel).unwrap();
        assert_eq!(stopped.unread.len(), 1 + DEFAULT_TABLES.len());
        assert!(
            stopped.unread[0].starts_with("metadata: stopped"),
            "{:?}",
            stopped.unread
        );
    }

    #[test]
    fn a_query_that_outlives_the_budget_is_interrupted() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("db");
        create(&path, &domain_sql());
        let conn = open(&path).unwrap();
        let deadline = Instant::now() + Duration::from_millis(50);
        conn.progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline));
        let err = conn
            .query_row(&format!("SELECT count(*) FROM ({ENDLESS})"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert_eq!(
            err.sqlite_error_code(),
            Some(ErrorCode::OperationInterrupted)
        );
    }

    #[test]
    fn huge_metadata_values_are_cut() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("db");
        create(
            &path,
            "CREATE TABLE metadata (schema_version TEXT, linked_trace_state TEXT, linked_span_id BLOB);
             INSERT INTO metadata VALUES ('7', printf('%.*c', 16777216, 'x'), zeroblob(1048576));",
        );

        let metadata = inspect(&path, &[]).unwrap().metadata;

        assert_eq!(metadata.schema_version.as_deref(), Some("7"));
        let state = metadata.linked_trace_state.unwrap();
        assert_eq!(state.len(), MAX_METADATA_VALUE, "{}", state.len());
        assert!(state.ends_with('…') && state.starts_with("xxx"));
        assert!(metadata.linked_span_id.unwrap().len() <= MAX_METADATA_VALUE);
    }

    #[test]
    fn values_are_cut_on_character_boundaries() {
        assert_eq!(bounded("short".into()), "short");
        let exact = "y".repeat(MAX_METADATA_VALUE);
        assert_eq!(bounded(exact.clone()), exact);
        let wide = "é".repeat(MAX_METADATA_VALUE);
        let cut = bounded(wide);
        assert!(
            cut.len() <= MAX_METADATA_VALUE && cut.ends_with('…'),
            "{cut}"
        );
        assert!(cut.trim_end_matches('…').chars().all(|c| c == 'é'));
    }

    #[test]
    fn missing_metadata_columns_and_rows_are_none() {
        let tmp = TempDir::new().unwrap();
        let partial = tmp.path().join("partial");
        create(
            &partial,
            "CREATE TABLE metadata (Schema_Version INTEGER, generated_at TEXT, other TEXT);
             INSERT INTO metadata VALUES (7, NULL, 'x');",
        );
        let inspection = inspect(&partial, &[]).unwrap();
        assert_eq!(
            inspection.metadata,
            Metadata {
                schema_version: Some("7".into()),
                ..Metadata::default()
            }
        );
        assert!(inspection.row_counts.is_empty());

        let no_known_columns = tmp.path().join("no-known-columns");
        create(
            &no_known_columns,
            "CREATE TABLE metadata (other TEXT); INSERT INTO metadata VALUES ('x');",
        );
        assert_eq!(
            inspect(&no_known_columns, &[]).unwrap().metadata,
            Metadata::default()
        );

        let empty = tmp.path().join("empty");
        create(
            &empty,
            "CREATE TABLE metadata (schema_version TEXT, generated_at TEXT);",
        );
        assert_eq!(inspect(&empty, &[]).unwrap().metadata, Metadata::default());
    }

    #[test]
    fn numbers_become_text() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("db");
        create(
            &path,
            "CREATE TABLE metadata (schema_version INTEGER, generated_at REAL, linked_span_id BLOB);
             INSERT INTO metadata VALUES (42, 1.5, x'6162');",
        );
        let metadata = inspect(&path, &[]).unwrap().metadata;
        assert_eq!(metadata.schema_version.as_deref(), Some("42"));
        assert_eq!(metadata.generated_at.as_deref(), Some("1.5"));
        assert_eq!(metadata.linked_span_id.as_deref(), Some("ab"));
    }

    #[test]
    fn table_names_from_config_are_quoted() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("db");
        create(
            &path,
            r#"CREATE TABLE "we""ird" (x); INSERT INTO "we""ird" VALUES (1), (2);
               CREATE TABLE products (x);"#,
        );
        let tables = [
            "we\"ird".to_string(),
            "products\"; DROP TABLE products; --".to_string(),
            "PRODUCTS".to_string(),
        ];
        let counts = inspect(&path, &tables).unwrap().row_counts;
        assert_eq!(counts["we\"ird"], Some(2));
        assert_eq!(counts["products\"; DROP TABLE products; --"], None);
        assert_eq!(counts["PRODUCTS"], Some(0));
    }

    #[test]
    fn works_with_spaces_question_marks_and_hashes_in_the_path() {
        let tmp = TempDir::new().unwrap();
        let dir = tmp
            .path()
            .join("Application Support")
            .join("what?#dir %20 x");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("Domain 1?.sqlite3");
        create(&path, &domain_sql());

        assert_eq!(
            inspect(&path, &default_tables()).unwrap().row_counts["products"],
            Some(2)
        );
        quick_check(&path).unwrap();
        assert_eq!(names(&dir), ["Domain 1?.sqlite3"]);
    }

    #[test]
    fn leaves_no_side_files_even_for_wal_databases_and_temp_names() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join(".Domain.sqlite3.123-00ff.tmp");
        create(
            &path,
            &format!("PRAGMA journal_mode = WAL; {}", domain_sql()),
        );
        assert_eq!(names(tmp.path()), [".Domain.sqlite3.123-00ff.tmp"]);
        assert_eq!(fs::read(&path).unwrap()[18], 2, "header should say WAL");

        let inspection = inspect(&path, &default_tables()).unwrap();
        quick_check(&path).unwrap();

        assert_eq!(inspection.metadata.schema_version.as_deref(), Some("7"));
        assert_eq!(inspection.row_counts["product_ranges"], Some(8));
        assert_eq!(names(tmp.path()), [".Domain.sqlite3.123-00ff.tmp"]);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_naming_it() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("garbage.sqlite3");
        fs::write(&path, vec![0x42; 8192]).unwrap();

        let err = inspect(&path, &default_tables()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotADatabase, "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert!(quick_check(&path).is_err());
        assert_eq!(names(tmp.path()), ["garbage.sqlite3"]);
    }

    #[test]
    fn a_missing_file_is_an_error_and_is_not_created() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("missing.sqlite3");
        let err = inspect(&path, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CannotOpen, "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert!(names(tmp.path()).is_empty());
    }

    #[test]
    fn quick_check_reports_a_corrupt_table_page() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("corrupt.sqlite3");
        let mut sql = String::from(
            "PRAGMA page_size = 4096; CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT);",
        );
        for row in 0..2000 {
            sql.push_str(&format!(
                "INSERT INTO products (name) VALUES ('product number {row}');"
            ));
        }
        create(&path, &sql);
        quick_check(&path).unwrap();

        let mut bytes = fs::read(&path).unwrap();
        const PAGE: usize = 4096;
        assert!(bytes.len() / PAGE > 10, "want a multi-page database");
        // A table b-tree leaf page (type 0x0d) other than page 1.
        let page = (1..bytes.len() / PAGE)
            .find(|&i| bytes[i * PAGE] == 0x0d)
            .expect("a table leaf page");
        let middle = page * PAGE + PAGE / 2;
        bytes[middle - 64..middle + 64].fill(0xff);
        fs::write(&path, &bytes).unwrap();

        let err = quick_check(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::QuickCheckFailed, "{err}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("resync"), "{message}");
        let InspectError::Corrupt {
            problems, total, ..
        } = err
        else {
            panic!("expected Corrupt, got {err:?}");
        };
        assert!(!problems.is_empty() && problems.len() <= MAX_PROBLEMS);
        assert!(total >= problems.len());
        assert!(
            problems
                .iter()
                .all(|p| !p.contains('\n') && !p.contains("***")),
            "{problems:?}"
        );
        assert!(!message.contains('\n'), "{message}");
        assert_eq!(names(tmp.path()), ["corrupt.sqlite3"]);
    }

    #[test]
    fn uris_percent_encode_everything_but_plain_path_characters() {
        assert_eq!(
            sqlite_uri(Path::new(
                "/Users/me/Application Support/Domain/1-Domain.sqlite3"
            )),
            "file:///Users/me/Application%20Support/Domain/1-Domain.sqlite3?immutable=1"
        );
        assert_eq!(
            sqlite_uri(Path::new("/a?b#c%d&e=f")),
            "file:///a%3Fb%23c%25d%26e%3Df?immutable=1"
        );
        assert_eq!(
            sqlite_uri(Path::new("rel/x.db")),
            "file:rel/x.db?immutable=1"
        );
        assert_eq!(
            sqlite_uri(Path::new("/caf\u{e9}")),
            "file:///caf%C3%A9?immutable=1"
        );
    }

    #[test]
    fn identifiers_are_double_quoted() {
        assert_eq!(quote_identifier("products"), "\"products\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn problems_are_split_into_lines_without_the_heading() {
        let rows = [
            "*** in database main ***\nTree 2 page 3 cell 95: invalid page number 7\nPage 4: never used".to_string(),
            "database disk image is malformed".to_string(),
        ];
        assert_eq!(
            problem_lines(&rows),
            [
                "Tree 2 page 3 cell 95: invalid page number 7",
                "Page 4: never used",
                "database disk image is malformed",
            ]
        );
        assert!(problem_lines(&[]).is_empty());
    }

    #[test]
    fn summaries_show_the_first_problems_and_how_many_more() {
        let problems = vec!["a".to_string(), "b".to_string()];
        assert_eq!(summarize(&problems, 2), "a; b");
        assert_eq!(summarize(&problems, 7), "a; b; and 5 more");
        assert_eq!(summarize(&[], 0), "it reported nothing, not even ok");
    }
}

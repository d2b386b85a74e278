//! Faults the simulator can inject, to test how clients cope.

use serde::{Deserialize, Serialize};

/// A fault mode; it stays in force until set back to [`Misbehaviour::None`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Misbehaviour {
    /// Behave like LiteFS.
    #[default]
    None,
    /// `/export` ends cleanly after about half the image (no `Content-Length`).
    TruncatedExport,
    /// `/export` flips one byte in the middle of the last page.
    FlippedByte,
    /// `tx` events carry a wrong `postApplyChecksum` (the export is correct).
    BadEventChecksum,
    /// `/export` answers 500 `internal error: simulated failure`.
    Http500,
    /// `/export` sends the first 64 KiB and then nothing, until the client leaves.
    StalledExport,
    /// `/export` sends the first 64 KiB, then one byte every 100 ms: never silent for
    /// long, never done.
    DripExport,
    /// `/export` and `/info` answer 500 with a body that never ends.
    EndlessErrorBody,
    /// `/export` and `/info` answer 500 with a body that drips one byte every 100 ms and
    /// never ends (every wait between bytes is short; the whole answer never comes).
    DripErrorBody,
    /// `/events` sends half of the next `tx` line and drops the connection.
    CutStream,
    /// `/events` sends a garbage line, an unknown event type and another
    /// database's `tx` before each `tx` line.
    GarbageLines,
}

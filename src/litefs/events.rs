//! Parsing LiteFS's `/events` stream: one JSON object per line.
//!
//! Only what the sync worker needs is kept: `tx` events for our database (TXID,
//! post-apply checksum, page count) and the connection's `init`. Other event types,
//! other databases and lines that are not JSON are reported as such so the caller can
//! skip them without stopping.

use serde::Deserialize;

use super::Checksum;

/// A transaction LiteFS applied to a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxEvent {
    pub db: String,
    pub txid: u64,
    pub checksum: Checksum,
    pub page_size: u32,
    /// Page count after the transaction.
    pub pages: u32,
    pub timestamp: Option<String>,
}

/// One line of the event stream, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// First event of every connection.
    Init {
        is_primary: bool,
        hostname: String,
    },
    Tx(TxEvent),
    PrimaryChange,
    /// A well-formed event of a type this version does not know.
    Other(String),
}

/// Why a line could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("unreadable LiteFS event line ({reason}): {excerpt}")]
pub struct BadLine {
    reason: String,
    excerpt: String,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    db: String,
    #[serde(default)]
    data: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInit {
    #[serde(default)]
    is_primary: bool,
    #[serde(default)]
    hostname: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTx {
    #[serde(rename = "txID")]
    tx_id: String,
    post_apply_checksum: String,
    page_size: u32,
    commit: u32,
    #[serde(default)]
    timestamp: Option<String>,
}

/// Parses one line of the stream (without its newline).
pub fn parse_line(line: &[u8]) -> Result<Event, BadLine> {
    let bad = |reason: String| BadLine {
        reason,
        excerpt: String::from_utf8_lossy(&line[..line.len().min(120)]).into_owned(),
    };
    let raw: RawEvent = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
    match raw.kind.as_str() {
        "init" => {
            let init: RawInit = serde_json::from_value(raw.data).map_err(|e| bad(e.to_string()))?;
            Ok(Event::Init {
                is_primary: init.is_primary,
                hostname: init.hostname,
            })
        }
        "tx" => {
            let tx: RawTx = serde_json::from_value(raw.data).map_err(|e| bad(e.to_string()))?;
            let txid = u64::from_str_radix(&tx.tx_id, 16)
                .map_err(|_| bad(format!("txID {:?} is not hex", tx.tx_id)))?;
            let checksum = tx.post_apply_checksum.parse().map_err(|_| {
                bad(format!(
                    "postApplyChecksum {:?} is not hex",
                    tx.post_apply_checksum
                ))
            })?;
            Ok(Event::Tx(TxEvent {
                db: raw.db,
                txid,
                checksum,
                page_size: tx.page_size,
                pages: tx.commit,
                timestamp: tx.timestamp,
            }))
        }
        "primaryChange" => Ok(Event::PrimaryChange),
        other => Ok(Event::Other(other.to_string())),
    }
}

/// Splits a byte stream into lines, keeping an unfinished last line for the next chunk.
///
/// A line longer than `max_line` is dropped (reported once as too long) so a peer that
/// never sends a newline cannot grow memory without bound.
pub struct LineSplitter {
    buf: Vec<u8>,
    max_line: usize,
    overflowed: bool,
}

/// What the splitter found in a chunk.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Complete(Vec<u8>),
    TooLong,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            max_line,
            overflowed: false,
        }
    }

    /// Feeds a chunk; returns the complete lines it finished.
    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        while let Some(nl) = chunk.iter().position(|&b| b == b'\n') {
            let (head, rest) = chunk.split_at(nl);
            chunk = &rest[1..];
            if self.overflowed || self.buf.len() + head.len() > self.max_line {
                out.push(Line::TooLong);
            } else {
                self.buf.extend_from_slice(head);
                let line = std::mem::take(&mut self.buf);
                if !line.iter().all(u8::is_ascii_whitespace) {
                    out.push(Line::Complete(line));
                }
            }
            self.buf.clear();
            self.overflowed = false;
        }
        if self.buf.len() + chunk.len() > self.max_line {
            self.buf.clear();
            self.overflowed = true;
        } else if !self.overflowed {
            self.buf.extend_from_slice(chunk);
        }
        out
    }

    /// Bytes of an unfinished line waiting for its newline (dropped on reconnect).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: &str = r#"{"type":"tx","db":"Domain.sqlite3","data":{"txID":"0000000000000027","postApplyChecksum":"83b05248774ce767","pageSize":4096,"commit":2,"timestamp":"2023-09-06T19:12:34.985Z"}}"#;

    #[test]
    fn parses_a_tx_event_as_litefs_sends_it() {
        let Event::Tx(tx) = parse_line(TX.as_bytes()).unwrap() else {
            panic!("not a tx")
        };
        assert_eq!(tx.db, "Domain.sqlite3");
        assert_eq!(tx.txid, 0x27);
        assert_eq!(tx.checksum, Checksum(0x83b05248774ce767));
        assert_eq!(tx.page_size, 4096);
        assert_eq!(tx.pages, 2);
        assert_eq!(tx.timestamp.as_deref(), Some("2023-09-06T19:12:34.985Z"));
    }

    #[test]
    fn parses_init_and_primary_change() {
        let init = r#"{"type":"init","data":{"isPrimary":true,"hostname":"node-1"}}"#;
        assert_eq!(
            parse_line(init.as_bytes()).unwrap(),
            Event::Init {
                is_primary: true,
                hostname: "node-1".into()
            }
        );
        let change = r#"{"type":"primaryChange","data":{"isPrimary":false,"hostname":"x"}}"#;
        assert_eq!(parse_line(change.as_bytes()).unwrap(), Event::PrimaryChange);
    }

    #[test]
    fn unknown_types_are_other_not_errors() {
        let line = r#"{"type":"mystery","data":{}}"#;
        assert_eq!(
            parse_line(line.as_bytes()).unwrap(),
            Event::Other("mystery".into())
        );
    }

    #[test]
    fn garbage_and_bad_fields_are_errors_with_an_excerpt() {
        let err = parse_line(b"not json {{{").unwrap_err();
        assert!(err.to_string().contains("not json {{{"), "{err}");
        let bad_hex = TX.replace("0000000000000027", "zz");
        let err = parse_line(bad_hex.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("txID"), "{err}");
    }

    #[test]
    fn splitter_keeps_partial_lines_across_chunks() {
        let mut s = LineSplitter::new(1024);
        assert!(s.push(b"{\"a\":").is_empty());
        assert_eq!(s.pending(), 5);
        let lines = s.push(b"1}\n\n{\"b\":2}\n{\"c\"");
        assert_eq!(
            lines,
            vec![
                Line::Complete(b"{\"a\":1}".to_vec()),
                Line::Complete(b"{\"b\":2}".to_vec())
            ]
        );
        assert_eq!(s.pending(), 4);
    }

    #[test]
    fn splitter_drops_overlong_lines_and_recovers() {
        let mut s = LineSplitter::new(8);
        assert!(s.push(b"0123456789").is_empty());
        assert_eq!(s.pending(), 0);
        let lines = s.push(b"abc\nok\n");
        assert_eq!(lines, vec![Line::TooLong, Line::Complete(b"ok".to_vec())]);
    }
}

//! The `/events` stream's lines, in LiteFS's newline-delimited JSON shapes.

use serde::Serialize;

use crate::position::{hex16, Position};

/// Database name used for the foreign `tx` events of [`garbage_lines`].
const OTHER_DB: &str = "Other.sqlite3";

/// One committed transaction, as broadcast to `/events` subscribers.
#[derive(Clone, Debug)]
pub(crate) struct TxEvent {
    pub(crate) db: String,
    pub(crate) position: Position,
    pub(crate) timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TxData<'a> {
    #[serde(rename = "txID", with = "hex16")]
    tx_id: u64,
    #[serde(with = "hex16")]
    post_apply_checksum: u64,
    page_size: u32,
    commit: u32,
    timestamp: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitData {
    is_primary: bool,
}

#[derive(Serialize)]
struct Line<'a, D> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    db: Option<&'a str>,
    data: D,
}

impl<D: Serialize> Line<'_, D> {
    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes =
            serde_json::to_vec(self).expect("serializing strings and integers cannot fail");
        bytes.push(b'\n');
        bytes
    }
}

/// The first line of every stream.
pub(crate) fn init_line() -> Vec<u8> {
    Line {
        kind: "init",
        db: None,
        data: InitData { is_primary: true },
    }
    .to_bytes()
}

impl TxEvent {
    /// The event's `tx` line; `corrupt` makes its checksum wrong.
    pub(crate) fn line(&self, corrupt: bool) -> Vec<u8> {
        let checksum = self.position.checksum ^ u64::from(corrupt);
        tx_line(&self.db, &self.position, checksum, &self.timestamp)
    }
}

fn tx_line(db: &str, position: &Position, checksum: u64, timestamp: &str) -> Vec<u8> {
    Line {
        kind: "tx",
        db: Some(db),
        data: TxData {
            tx_id: position.txid,
            post_apply_checksum: checksum,
            page_size: position.page_size,
            commit: position.pages,
            timestamp,
        },
    }
    .to_bytes()
}

/// Lines a robust client must skip: not JSON, an unknown type, and a `tx`
/// for another database.
pub(crate) fn garbage_lines(event: &TxEvent) -> Vec<u8> {
    let mut lines = b"not json {{{\n{\"type\":\"mystery\",\"data\":{}}\n".to_vec();
    let other = Position {
        txid: event.position.txid + 1000,
        checksum: !event.position.checksum | 1 << 63,
        page_size: event.position.page_size,
        pages: 2,
    };
    lines.extend(tx_line(OTHER_DB, &other, other.checksum, &event.timestamp));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_line_has_litefs_shape() {
        let event = TxEvent {
            db: "Domain.sqlite3".into(),
            position: Position {
                txid: 0x27,
                checksum: 0x83b0_5248_774c_e767,
                page_size: 4096,
                pages: 2,
            },
            timestamp: "2023-09-06T19:12:34.985Z".into(),
        };
        assert_eq!(
            String::from_utf8(event.line(false)).unwrap(),
            concat!(
                r#"{"type":"tx","db":"Domain.sqlite3","data":{"txID":"0000000000000027","#,
                r#""postApplyChecksum":"83b05248774ce767","pageSize":4096,"commit":2,"#,
                r#""timestamp":"2023-09-06T19:12:34.985Z"}}"#,
                "\n"
            )
        );
        assert!(String::from_utf8(event.line(true))
            .unwrap()
            .contains("83b05248774ce766"));
        let garbage = String::from_utf8(garbage_lines(&event)).unwrap();
        assert_eq!(garbage.lines().count(), 3);
        assert!(garbage.contains(r#""db":"Other.sqlite3""#));
    }

    #[test]
    fn init_line_is_exact() {
        assert_eq!(
            String::from_utf8(init_line()).unwrap(),
            "{\"type\":\"init\",\"data\":{\"isPrimary\":true}}\n"
        );
    }
}

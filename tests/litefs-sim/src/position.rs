//! The replication position (TXID and checksum) and the `<db>-pos` file.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{anyhow, Context};
use serde::{Deserialize, Serialize};

/// Where the database is: its last transaction ID and checksum, and its size.
///
/// `txid` and `checksum` are serialized as 16 lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(with = "hex16")]
    pub txid: u64,
    #[serde(with = "hex16")]
    pub checksum: u64,
    pub page_size: u32,
    pub pages: u32,
}

/// Serde helpers for a `u64` written as 16 lower-case hex digits.
pub(crate) mod hex16 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{value:016x}"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_hex16(&text).map_err(D::Error::custom)
    }
}

fn parse_hex16(text: &str) -> anyhow::Result<u64> {
    if text.len() != 16 {
        return Err(anyhow!("expected 16 hex digits, got {text:?}"));
    }
    u64::from_str_radix(text, 16).with_context(|| format!("invalid hex {text:?}"))
}

/// Writes `<16-hex txid>/<16-hex checksum>\n` atomically (temp file + rename).
pub(crate) fn write_pos_file(path: &Path, txid: u64, checksum: u64) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("bad pos file path {}", path.display()))?;
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    fs::write(&tmp, format!("{txid:016x}/{checksum:016x}\n"))
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

/// Reads a `<db>-pos` file: `Ok(None)` when it does not exist.
pub(crate) fn read_pos_file(path: &Path) -> anyhow::Result<Option<(u64, u64)>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let (txid, checksum) = text
        .trim_end()
        .split_once('/')
        .ok_or_else(|| anyhow!("{} is not <txid>/<checksum>", path.display()))?;
    Ok(Some((parse_hex16(txid)?, parse_hex16(checksum)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_ids_as_hex() {
        let pos = Position {
            txid: 0x27,
            checksum: 0x83b0_5248_774c_e767,
            page_size: 4096,
            pages: 2,
        };
        let json = serde_json::to_string(&pos).unwrap();
        assert_eq!(
            json,
            r#"{"txid":"0000000000000027","checksum":"83b05248774ce767","page_size":4096,"pages":2}"#
        );
        assert_eq!(serde_json::from_str::<Position>(&json).unwrap(), pos);
        assert!(serde_json::from_str::<Position>(&json.replace("0027", "27")).is_err());
    }

    #[test]
    fn pos_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Domain.sqlite3-pos");
        assert_eq!(read_pos_file(&path).unwrap(), None);
        write_pos_file(&path, 0x27, 0x83b0_5248_774c_e767).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "0000000000000027/83b05248774ce767\n"
        );
        assert_eq!(
            read_pos_file(&path).unwrap(),
            Some((0x27, 0x83b0_5248_774c_e767))
        );
    }
}

//! The `<db>-pos` file LiteFS keeps in its FUSE mount: `<16-hex TXID>/<16-hex checksum>`.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::Checksum;

/// A database's replication position: its last TXID and the checksum after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub txid: u64,
    pub checksum: Checksum,
}

/// Asks LiteFS where it is, without exporting; `None` when it cannot be read.
pub type Probe = Arc<dyn Fn() -> BoxFuture<'static, Option<Position>> + Send + Sync>;

/// Parses the contents of a `-pos` file.
pub fn parse(text: &str) -> Option<Position> {
    let (txid, checksum) = text.trim().split_once('/')?;
    if txid.len() != 16 || checksum.len() != 16 {
        return None;
    }
    Some(Position {
        txid: u64::from_str_radix(txid, 16).ok()?,
        checksum: checksum.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_litefs_pos_files() {
        assert_eq!(
            parse("0000000000000027/83b05248774ce767\n"),
            Some(Position {
                txid: 0x27,
                checksum: Checksum(0x83b05248774ce767)
            })
        );
        assert_eq!(parse(""), None);
        assert_eq!(parse("27/83b05248774ce767"), None);
        assert_eq!(parse("0000000000000027-83b05248774ce767"), None);
    }
}

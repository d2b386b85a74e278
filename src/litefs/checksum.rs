//! The LiteFS database checksum, computed incrementally while a database streams past.
//!
//! Page checksum = `1<<63 | CRC-64/ISO(pgno as big-endian u32 ‖ page)`; database
//! checksum = `1<<63 | XOR of every page checksum` except the SQLite lock page. Equal
//! checksums mean byte-identical databases, which is how an exported snapshot is matched
//! to the `postApplyChecksum` of a LiteFS transaction.

use std::fmt;
use std::str::FromStr;

use crc_fast::{CrcAlgorithm, Digest};

const FLAG: u64 = 1 << 63;

/// A LiteFS checksum; shown as 16 lower-case hex digits, as LiteFS prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Checksum(pub u64);

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for Checksum {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(Checksum)
    }
}

impl serde::Serialize for Checksum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Checksum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The page number SQLite reserves for its byte-range locks; LiteFS leaves it out.
pub fn lock_page(page_size: u32) -> u64 {
    0x4000_0000 / u64::from(page_size) + 1
}

/// Checksums a database fed in arbitrary chunks, without buffering pages.
///
/// The page size is learned from the SQLite header in the first page, so callers just
/// feed bytes in order and call [`Checksummer::finish`]. The CRC is SIMD-accelerated
/// (`crc-fast`), so checksumming costs far less than writing the bytes.
pub struct Checksummer {
    state: State,
    pgno: u64,
    in_page: u64,
    digest: Digest,
    acc: u64,
    total: u64,
}

enum State {
    /// Fewer than 18 bytes seen: the page size is not known yet.
    Header(Vec<u8>),
    /// Summing pages of this size.
    Pages(u32),
    /// The header holds no valid page size: not a SQLite database.
    Invalid,
}

/// The result of checksumming a whole stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The LiteFS checksum over the complete pages seen.
    pub checksum: Checksum,
    /// Page size from the header, when the header was seen and valid.
    pub page_size: Option<u32>,
    /// Total bytes fed.
    pub len: u64,
}

impl Default for Checksummer {
    fn default() -> Self {
        Self::new()
    }
}

impl Checksummer {
    pub fn new() -> Self {
        Checksummer {
            state: State::Header(Vec::with_capacity(HEADER_NEEDED)),
            pgno: 1,
            in_page: 0,
            digest: Digest::new(CrcAlgorithm::Crc64GoIso),
            acc: 0,
            total: 0,
        }
    }

    /// Feeds the next bytes of the database.
    pub fn update(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        match &mut self.state {
            State::Pages(size) => {
                let size = *size;
                self.sum_pages(size, data);
            }
            State::Invalid => {}
            State::Header(seen) if seen.is_empty() && data.len() >= HEADER_NEEDED => {
                self.learn(data);
                if let State::Pages(size) = self.state {
                    self.sum_pages(size, data);
                }
            }
            State::Header(seen) => {
                seen.extend_from_slice(data);
                if seen.len() >= HEADER_NEEDED {
                    let seen = std::mem::take(seen);
                    self.learn(&seen);
                    if let State::Pages(size) = self.state {
                        self.sum_pages(size, &seen);
                    }
                }
            }
        }
    }

    fn learn(&mut self, header: &[u8]) {
        self.state = match page_size_from_header(header) {
            Some(size) => State::Pages(size),
            None => State::Invalid,
        };
    }

    fn sum_pages(&mut self, page_size: u32, mut data: &[u8]) {
        let size = u64::from(page_size);
        while !data.is_empty() {
            if self.in_page == 0 {
                self.digest.update(&(self.pgno as u32).to_be_bytes());
            }
            let take = (size - self.in_page).min(data.len() as u64) as usize;
            self.digest.update(&data[..take]);
            self.in_page += take as u64;
            data = &data[take..];
            if self.in_page == size {
                let crc = self.digest.finalize_reset();
                if self.pgno != lock_page(page_size) {
                    self.acc ^= FLAG | crc;
                }
                self.pgno += 1;
                self.in_page = 0;
            }
        }
    }

    /// Ends the stream; only complete pages are part of the checksum.
    pub fn finish(self) -> Summary {
        Summary {
            checksum: Checksum(FLAG | self.acc),
            page_size: match self.state {
                State::Pages(size) => Some(size),
                _ => None,
            },
            len: self.total,
        }
    }
}

/// The LiteFS checksum of one page, `1<<63 | CRC-64/ISO(pgno ‖ page)`: a database's
/// checksum is the XOR of these (lock page excepted), so replacing a page changes it by
/// the old page's XOR the new page's (how a patched clone is verified).
pub fn page_checksum(pgno: u32, page: &[u8]) -> u64 {
    let mut digest = Digest::new(CrcAlgorithm::Crc64GoIso);
    digest.update(&pgno.to_be_bytes());
    digest.update(page);
    FLAG | digest.finalize()
}

/// Bytes of the SQLite header needed to know the page size.
const HEADER_NEEDED: usize = 18;

/// Checksums a whole file on disk (used by `verify` and for the newest published file).
pub fn checksum_file(path: &std::path::Path) -> std::io::Result<Summary> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut sum = Checksummer::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(sum.finish());
        }
        sum.update(&buf[..n]);
    }
}

/// Reads the page size from bytes 16..18 of a SQLite header (1 means 65536).
pub fn page_size_from_header(header: &[u8]) -> Option<u32> {
    let raw = u16::from_be_bytes([*header.get(16)?, *header.get(17)?]);
    let size = if raw == 1 { 65536 } else { u32::from(raw) };
    (size.is_power_of_two() && (512..=65536).contains(&size)).then_some(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/testdata/litefs-checksum/database"
        );
        std::fs::read(path).expect("the LiteFS test vector in ../shared/testdata")
    }

    #[test]
    fn matches_the_litefs_test_vector() {
        let mut sum = Checksummer::new();
        sum.update(&vector());
        let s = sum.finish();
        assert_eq!(s.checksum.to_string(), "fe3831a381c602b9");
        assert_eq!(s.page_size, Some(4096));
        assert_eq!(s.len, 40960);
    }

    #[test]
    fn chunking_does_not_change_the_checksum() {
        let data = vector();
        for chunk in [1, 7, 17, 18, 100, 4095, 4097, 10_000] {
            let mut sum = Checksummer::new();
            data.chunks(chunk).for_each(|c| sum.update(c));
            assert_eq!(
                sum.finish().checksum,
                Checksum(0xfe3831a381c602b9),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn any_flipped_byte_changes_the_checksum() {
        let data = vector();
        for at in [0, 100, 4096, 20_000, 40_959] {
            let mut bad = data.clone();
            bad[at] ^= 0x10;
            let mut sum = Checksummer::new();
            sum.update(&bad);
            assert_ne!(
                sum.finish().checksum,
                Checksum(0xfe3831a381c602b9),
                "byte {at}"
            );
        }
    }

    #[test]
    fn a_partial_last_page_is_left_out() {
        let data = vector();
        let mut sum = Checksummer::new();
        sum.update(&data[..40960 - 100]);
        let s = sum.finish();
        assert_ne!(s.checksum, Checksum(0xfe3831a381c602b9));
        assert_eq!(s.len, 40860);
    }

    #[test]
    fn not_sqlite_has_no_page_size() {
        let mut sum = Checksummer::new();
        sum.update(b"hello, this is not a database at all");
        assert_eq!(sum.finish().page_size, None);
    }

    #[test]
    fn the_database_checksum_is_the_xor_of_the_page_checksums() {
        let data = vector();
        let xor = data
            .chunks(4096)
            .zip(1u32..)
            .fold(0, |acc, (page, pgno)| acc ^ page_checksum(pgno, page));
        assert_eq!(Checksum(FLAG | xor), Checksum(0xfe3831a381c602b9));
    }

    #[test]
    fn lock_page_depends_on_page_size() {
        assert_eq!(lock_page(4096), 262_145);
        assert_eq!(lock_page(65536), 16_385);
    }

    #[test]
    fn page_size_one_means_65536() {
        let mut h = [0u8; 18];
        h[16] = 0;
        h[17] = 1;
        assert_eq!(page_size_from_header(&h), Some(65536));
        h[17] = 3;
        assert_eq!(page_size_from_header(&h), None);
    }

    #[test]
    fn checksum_round_trips_as_hex() {
        let c: Checksum = "83b05248774ce767".parse().unwrap();
        assert_eq!(c.to_string(), "83b05248774ce767");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"83b05248774ce767\"");
    }
}

//! The record of the patch chain the newest published file ends (see
//! [`super::patch_plan`]): how many patched versions in a row led to it and how many
//! pages they wrote. One line, `<patches> <pages> <path>`, beside the list of the files
//! we wrote, replaced atomically after every publish. A record naming another file (the
//! newest file is someone else's, or the record was lost) says nothing about it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::patch_plan::Chain;

/// Where the record of the list at `list` is kept (beside it, same name + `.chain`).
pub fn record_path(list: &Path) -> PathBuf {
    let mut name = list.file_name().unwrap_or_default().to_os_string();
    name.push(".chain");
    list.with_file_name(name)
}

/// The chain `file` ends, when the record at `record` names it.
pub fn read(record: &Path, file: &Path) -> Option<Chain> {
    let text = fs::read_to_string(record).ok()?;
    parse(&text, file)
}

/// Records that `file` ends `chain`; atomically (a temp file renamed over the record).
pub fn write(record: &Path, file: &Path, chain: Chain) -> io::Result<()> {
    let line = format!("{} {} {}\n", chain.patches, chain.pages, file.display());
    let mut temp = record.as_os_str().to_os_string();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp);
    let written = fs::File::create(&temp).and_then(|mut f| {
        f.write_all(line.as_bytes())?;
        f.sync_all()
    });
    match written.and_then(|()| fs::rename(&temp, record)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

fn parse(text: &str, file: &Path) -> Option<Chain> {
    let line = text.strip_suffix('\n')?;
    let mut parts = line.splitn(3, ' ');
    let patches = parts.next()?.parse().ok()?;
    let pages = parts.next()?.parse().ok()?;
    let path = parts.next()?;
    (Path::new(path) == file).then_some(Chain { patches, pages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_describes_only_the_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let record = record_path(&dir.path().join("published-versions.txt"));
        assert_eq!(record.file_name().unwrap(), "published-versions.txt.chain");
        let file = dir.path().join("1700000000-Domain.sqlite3");
        assert_eq!(read(&record, &file), None, "no record yet");
        let chain = Chain {
            patches: 3,
            pages: 42,
        };
        write(&record, &file, chain).unwrap();
        assert_eq!(read(&record, &file), Some(chain));
        assert_eq!(read(&record, &dir.path().join("other")), None);
    }

    #[test]
    fn a_damaged_record_says_nothing() {
        let file = Path::new("/p/1-Domain.sqlite3");
        assert_eq!(parse("3 x /p/1-Domain.sqlite3\n", file), None);
        assert_eq!(parse("3 4 /p/1-Domain.sqlite3", file), None, "cut short");
        assert_eq!(
            parse("3 4 /p/1-Domain.sqlite3\n", file),
            Some(Chain {
                patches: 3,
                pages: 4
            })
        );
    }
}

//! Where the next version's bytes go: a fresh temp file written whole, or a clone of the
//! newest published file patched where the pages differ ([`super::patch`]).
//!
//! [`Publisher::stage_for`] decides ([`super::patch_plan`]) and stages it; the source's
//! stream is written into the [`Target`]; [`Target::finish`] says what was written and,
//! for a patch, the clone's checksum computed from the changed pages, which
//! [`Publisher::verify_written`] holds against the stream's. After the publish,
//! [`Publisher::record_written`] records the patch chain the new file ends.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::litefs::Checksum;

use super::chain;
use super::error::io_error;
use super::patch::{Base, PatchStats, PatchWriter};
use super::patch_plan::{self, Chain, Whole};
use super::{PublishError, Publisher, Staged};

/// The writer of the next version's bytes.
pub enum Target {
    /// A fresh temp file, written whole.
    Whole {
        file: File,
        why: Whole,
        written: u64,
    },
    /// A clone of the newest published file, patched.
    Patch {
        writer: Box<PatchWriter>,
        chain: Chain,
    },
}

/// What was written, once the stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub how: How,
    /// Bytes written into the new file (a patch writes only the changed pages).
    pub bytes: u64,
    /// For a patch whose every page was compared: the clone's checksum, computed from
    /// the base's and the changed pages read back.
    pub checksum: Option<Checksum>,
}

/// How the new file was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    Whole(Whole),
    /// A clone of the newest file; it now ends `chain`.
    Patched {
        chain: Chain,
        stats: PatchStats,
    },
}

impl Target {
    /// Ends the stream (see [`PatchWriter::finish`]).
    pub fn finish(self) -> io::Result<Written> {
        match self {
            Target::Whole {
                mut file,
                why,
                written,
            } => {
                file.flush()?;
                Ok(Written {
                    how: How::Whole(why),
                    bytes: written,
                    checksum: None,
                })
            }
            Target::Patch { writer, chain } => {
                let (stats, checksum) = writer.finish()?;
                Ok(Written {
                    how: How::Patched {
                        chain: chain.extended(stats.pages_written),
                        stats,
                    },
                    bytes: stats.bytes_written,
                    checksum,
                })
            }
        }
    }
}

impl From<File> for Target {
    /// A plain file, written whole (no published file to patch).
    fn from(file: File) -> Target {
        Target::Whole {
            file,
            why: Whole::NoBase,
            written: 0,
        }
    }
}

impl Write for Target {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Target::Whole { file, written, .. } => {
                let n = file.write(data)?;
                *written += n as u64;
                Ok(n)
            }
            Target::Patch { writer, .. } => writer.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::Whole { file, .. } => file.flush(),
            Target::Patch { writer, .. } => writer.flush(),
        }
    }
}

impl Publisher {
    /// Stages the next version: a patched clone of `base` (the newest published file)
    /// when [`patch_plan::may_patch`] allows and the filesystem clones, else a fresh temp
    /// file written whole.
    pub fn stage_for(&self, base: Option<&Base>) -> Result<(Staged, Target), PublishError> {
        let plan = match base {
            None => Err(Whole::NoBase),
            Some(base) => {
                let chain = chain::read(&chain::record_path(&self.list), &base.path);
                patch_plan::may_patch(chain).map(|()| (base, chain.unwrap_or_default()))
            }
        };
        let why = match plan {
            Ok((base, chain)) => match self.clone_of(base, chain) {
                Ok(patch) => return Ok(patch),
                Err(why) => why,
            },
            Err(why) => why,
        };
        let staged = self.stage()?;
        let file = staged
            .file()
            .try_clone()
            .map_err(|e| io_error("open", staged.path(), e))?;
        let written = 0;
        Ok((staged, Target::Whole { file, why, written }))
    }

    /// A staged clone of `base`, which ends `chain`, with its patch writer; `Err` when it
    /// cannot be had (the reason is logged at debug level: on a filesystem without clones
    /// that is normal).
    fn clone_of(&self, base: &Base, chain: Chain) -> Result<(Staged, Target), Whole> {
        let cloned = Staged::clone_of(&self.dir, &self.db_name, &base.path).and_then(|staged| {
            let writer = PatchWriter::open(staged.file().try_clone()?, base)?;
            Ok((
                staged,
                Target::Patch {
                    writer: Box::new(writer),
                    chain,
                },
            ))
        });
        cloned.map_err(|e| {
            tracing::debug!(base = %base.path.display(), error = %e, "no clone; writing the new version whole");
            Whole::CloneUnsupported
        })
    }

    /// Holds a patched clone's checksum against the stream's (`stream`, which the caller
    /// matches with the source's): a clone that is not the stream's database is never
    /// published, and the chain's record is dropped so that the next version is written
    /// whole. A whole copy is verified by the stream's checksum alone.
    pub fn verify_written(
        &self,
        staged: &Staged,
        written: &Written,
        stream: Checksum,
    ) -> Result<(), PublishError> {
        match written.checksum {
            Some(clone) if clone != stream => {
                let record = chain::record_path(&self.list);
                if let Err(e) = std::fs::remove_file(&record) {
                    tracing::warn!(record = %record.display(), error = %e, "could not drop the patch chain's record");
                }
                Err(PublishError::PatchMismatch {
                    path: staged.path().to_path_buf(),
                    expected: stream,
                    actual: clone,
                })
            }
            _ => Ok(()),
        }
    }

    /// Records the patch chain the file just published at `path` ends: one more patch,
    /// or a new chain after a whole copy. A failure is logged (the next version is
    /// written whole, its chain being unknown).
    pub fn record_written(&self, path: &Path, written: &Written) {
        let chain = match written.how {
            How::Whole(_) => Chain::default(),
            How::Patched { chain, .. } => chain,
        };
        let record = chain::record_path(&self.list);
        if let Err(e) = chain::write(&record, path, chain) {
            tracing::warn!(record = %record.display(), error = %e, "could not record the patch chain; the next version is written whole");
        }
    }
}

//! A log writer that removes every registered secret (see `secrets`) from each event.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

use crate::secrets;

/// Wraps a [`MakeWriter`]: each event is collected whole, scrubbed, then written.
#[derive(Clone, Debug)]
pub struct Scrubbed<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Scrubbed<M> {
    type Writer = ScrubbingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbingWriter {
            inner: self.0.make_writer(),
            event: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        ScrubbingWriter {
            inner: self.0.make_writer_for(meta),
            event: Vec::new(),
        }
    }
}

/// Holds one event's text until it is dropped (a secret split across two writes is still
/// found), then writes it scrubbed.
pub struct ScrubbingWriter<W: Write> {
    inner: W,
    event: Vec<u8>,
}

impl<W: Write> ScrubbingWriter<W> {
    fn write_event(&mut self) -> io::Result<()> {
        if self.event.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.event);
        self.inner.write_all(secrets::scrub(&text).as_bytes())?;
        self.event.clear();
        self.inner.flush()
    }
}

impl<W: Write> Write for ScrubbingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.event.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Kept until the event is complete: flushing part of it could split a secret.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ScrubbingWriter<W> {
    fn drop(&mut self) {
        // A log writer has nowhere to report its own failure.
        let _ = self.write_event();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_split_across_writes_is_scrubbed() {
        secrets::register("split-secret-3141");
        let mut out = Vec::new();
        {
            let mut w = ScrubbingWriter {
                inner: &mut out,
                event: Vec::new(),
            };
            w.write_all(b"token split-sec").unwrap();
            w.write_all(b"ret-3141 end\n").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "token [redacted] end\n");
    }
}

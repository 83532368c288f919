//! The spool shared by the formats whose document can only be written at the
//! end (JSON, JUnit): rows wait as JSON lines in an anonymous temporary file,
//! with a small index by seq, so memory stays flat however many items run
//! and the document lists items in input order whatever order they finished.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::marker::PhantomData;

use crate::record::ItemRecord;
use crate::sink::report::jsonl::write_json_line;
use crate::sink::report::{Format, FormatError, RunInfo};

pub(crate) struct Spool {
    file: BufWriter<File>,
    /// `(seq, offset, length)` of each row's line in `file`. 24 bytes per
    /// row; the rows themselves stay on disk.
    index: Vec<(u64, u64, u32)>,
    /// Bytes written to `file` so far.
    written: u64,
}

impl Spool {
    pub(crate) fn new() -> io::Result<Spool> {
        Ok(Spool {
            file: BufWriter::new(tempfile::tempfile()?),
            index: Vec::new(),
            written: 0,
        })
    }

    pub(crate) fn push(&mut self, row: &ItemRecord) -> io::Result<()> {
        let mut line = Vec::with_capacity(256);
        write_json_line(&mut line, row)?;
        self.file.write_all(&line)?;
        let len = u32::try_from(line.len()).unwrap_or(u32::MAX);
        self.index.push((row.seq, self.written, len));
        self.written += line.len() as u64;
        Ok(())
    }

    /// A reader over the rows by seq (in arrival order for equal seqs).
    pub(crate) fn into_rows(mut self) -> io::Result<BufReader<File>> {
        self.index.sort_by_key(|&(seq, offset, _)| (seq, offset));
        in_order(self.file, &self.index)
    }
}

/// Flushes the spool and returns a reader over its rows in `index` order,
/// copied into a second anonymous file one row at a time.
fn in_order(spool: BufWriter<File>, index: &[(u64, u64, u32)]) -> io::Result<BufReader<File>> {
    use std::os::unix::fs::FileExt;
    let spool = spool.into_inner().map_err(io::IntoInnerError::into_error)?;
    let mut sorted = BufWriter::new(tempfile::tempfile()?);
    let mut line = Vec::new();
    for &(_, offset, len) in index {
        line.resize(len as usize, 0);
        spool.read_exact_at(&mut line, offset)?;
        sorted.write_all(&line)?;
    }
    let mut file = sorted
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.rewind()?;
    Ok(BufReader::new(file))
}

/// Calls `each` with every spooled row line, reusing one buffer so memory
/// does not grow with the number of rows.
pub(crate) fn for_each_line(
    mut spool: impl BufRead,
    mut each: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if spool.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let row = line.strip_suffix(b"\n").unwrap_or(&line);
        if !row.is_empty() {
            each(row)?;
        }
    }
}

/// A format whose document needs the run's figures (JSON, JUnit): its rows
/// wait in a [`Spool`] until the end, and it writes the whole document then.
pub(crate) trait Document: Send {
    /// Writes the document from the rows, in input order.
    fn write(
        rows: BufReader<File>,
        info: &RunInfo,
        out: &mut BufWriter<File>,
    ) -> Result<(), FormatError>;
}

/// A [`Document`] format, its rows spooled.
pub(crate) struct Spooled<D> {
    /// Already created (and truncated), so a bad path fails before anything runs.
    out: File,
    spool: Spool,
    document: PhantomData<D>,
}

impl<D: Document> Spooled<D> {
    pub(crate) fn new(out: File) -> Result<Spooled<D>, FormatError> {
        let spool = Spool::new().map_err(FormatError::Spool)?;
        Ok(Spooled {
            out,
            spool,
            document: PhantomData,
        })
    }
}

impl<D: Document> Format for Spooled<D> {
    fn record(&mut self, row: &ItemRecord) -> Result<(), FormatError> {
        self.spool.push(row).map_err(FormatError::Spool)
    }

    fn finish(self: Box<Self>, info: &RunInfo) -> Result<(), FormatError> {
        let rows = self.spool.into_rows().map_err(FormatError::Spool)?;
        let mut out = BufWriter::new(self.out);
        D::write(rows, info, &mut out)?;
        out.flush().map_err(FormatError::Write)
    }
}

#[cfg(test)]
mod tests {
    use crate::record::ItemRecord;
    use crate::sink::report::tests::{fixture_rows, info, write_report};

    #[test]
    fn json_and_junit_list_items_in_input_order_whatever_order_they_finished() {
        let dir = tempfile::tempdir().unwrap();
        let rows = fixture_rows();
        let mut finished_order = rows.clone();
        finished_order.reverse();
        finished_order.swap(0, 2);
        let json = dir.path().join("r.json");
        write_report(&json, &finished_order, &info(6));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let items: Vec<ItemRecord> = serde_json::from_value(doc["items"].clone()).unwrap();
        assert_eq!(items, rows);
        let xml = dir.path().join("r.xml");
        write_report(&xml, &finished_order, &info(6));
        let text = std::fs::read_to_string(&xml).unwrap();
        let names: Vec<usize> = rows
            .iter()
            .map(|r| text.find(&format!("name=\"#{} ", r.seq)).unwrap())
            .collect();
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "testcases in seq order"
        );
    }
}

//! `--results DIR`: each job's stdout, stderr and seq saved in GNU
//! parallel's layout, `DIR/NAME/VALUE/.../stdout` (`stderr`, `seq`), one
//! `NAME/VALUE` pair of directories per input value: the source's number
//! (`1`) or its header's name (`--header :`, a CSV/TSV header), then the
//! value. The output is not printed, as in GNU parallel.
//!
//! A value becomes one path component as GNU makes it one (`\` is `\\`,
//! a tab `\t`, NUL `\0`, `/` is `\_`), and fanout goes further where GNU's
//! names are unsafe or collide: `.` and `..` (which GNU uses as they are,
//! so `..` writes into DIR's parent) are `\.` and `\.\.`, the empty value
//! (GNU: the files of the level above) is `\e`, and a component longer
//! than a file name can be is cut and ends in `\h` and a hash of the whole
//! value, so two long values never share a directory. None of these
//! spellings can come from another value, because a value's own `\` is
//! always doubled; so no value can name a place outside DIR, or another
//! value's directory.
//!
//! A job of several items (`-n`, `-X`) saves its files under its first
//! item's values for now (GNU names every item of the job: `DIR/1/a/1/b`).
//!
//! The files are written from the job's captured output once it finished,
//! before the item is journaled, so an item the journal records has its
//! files. [`results_path`] takes a list of `(name, value)` pairs: the
//! item's positions, so an item of several sources is `DIR/1/A/2/D`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::event::JobPart;
use crate::item::Item;
use crate::sink::{Control, Done, RunEvent, Sink};

/// The longest file name Linux file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// Where the item's files go: `dir`, then for each pair its name and its
/// value, each made one safe path component.
pub(crate) fn results_path(dir: &Path, pairs: &[(&[u8], &[u8])]) -> PathBuf {
    let mut path = dir.to_path_buf();
    for (name, value) in pairs {
        path.push(std::ffi::OsStr::from_bytes(&safe_component(name)));
        path.push(std::ffi::OsStr::from_bytes(&safe_component(value)));
    }
    path
}

/// One value as one path component (see the module's doc).
pub(crate) fn safe_component(value: &[u8]) -> Vec<u8> {
    match value {
        b"" => return b"\\e".to_vec(),
        b"." => return b"\\.".to_vec(),
        b".." => return b"\\.\\.".to_vec(),
        _ => {}
    }
    let mut out = Vec::with_capacity(value.len() + 8);
    // Room for `\h` and 16 hex digits when the value must be cut.
    let cut_at = NAME_MAX - 18;
    let mut cut = None;
    for chunk in value.utf8_chunks() {
        // Whole characters (and single invalid bytes) at a time, so a cut
        // never splits one, nor an escape.
        let mut piece = [0u8; 4];
        let pieces = chunk
            .valid()
            .chars()
            .map(|c| c.encode_utf8(&mut piece).as_bytes().to_vec())
            .chain(chunk.invalid().iter().map(|&b| vec![b]));
        for bytes in pieces {
            let escaped: &[u8] = match bytes.as_slice() {
                b"\\" => b"\\\\",
                b"\t" => b"\\t",
                b"\0" => b"\\0",
                b"/" => b"\\_",
                other => other,
            };
            if cut.is_none() && out.len() + escaped.len() > cut_at {
                cut = Some(out.len());
            }
            out.extend_from_slice(escaped);
        }
    }
    if out.len() > NAME_MAX
        && let Some(at) = cut
    {
        out.truncate(at);
        let hash = xxhash_rust::xxh3::xxh3_64(value);
        out.extend_from_slice(format!("\\h{hash:016x}").as_bytes());
    }
    out
}

/// The `(name, value)` pairs of an item: its positions (`Item::positions`:
/// its value, its columns with `--colsep` or CSV/TSV, or the values of
/// several sources) by number or, with a header, by name.
fn item_pairs<'a>(item: &'a Item, headers: Option<&'a [String]>) -> Vec<(Vec<u8>, &'a [u8])> {
    item.positions()
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let name = headers.and_then(|h| h.get(i)).map_or_else(
                || (i + 1).to_string().into_bytes(),
                |h| h.as_bytes().to_vec(),
            );
            (name, value)
        })
        .collect()
}

/// The sink that saves each job's output under `--results DIR`. A write
/// error is run-fatal.
pub struct ResultsSink {
    dir: PathBuf,
    /// The input's header, naming the columns.
    headers: Option<Vec<String>>,
    failed: bool,
}

impl ResultsSink {
    pub fn new(dir: PathBuf, headers: Option<Vec<String>>) -> ResultsSink {
        ResultsSink {
            dir,
            headers,
            failed: false,
        }
    }

    fn save(&self, done: &Done) -> Result<(), (PathBuf, io::Error)> {
        let finished = &done.finished;
        let pairs = item_pairs(&finished.item, self.headers.as_deref());
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_slice(), *v)).collect();
        let at = results_path(&self.dir, &pairs);
        fs::create_dir_all(&at).map_err(|e| (at.clone(), e))?;
        let write = |name: &str, from: Option<&File>, text: &[u8]| {
            let path = at.join(name);
            let mut file = File::create(&path).map_err(|e| (path.clone(), e))?;
            let result = match from {
                Some(captured) => copy_whole(captured, &mut file),
                None => file.write_all(text),
            };
            result.map_err(|e| (path, e))
        };
        // GNU writes the seq (the job's number) without a newline.
        let seq = finished.job.map_or(finished.item.seq, JobPart::seq);
        write("seq", None, seq.to_string().as_bytes())?;
        write("stdout", finished.captured.stdout.as_ref(), b"")?;
        write("stderr", finished.captured.stderr.as_ref(), b"")?;
        Ok(())
    }
}

/// Copies a capture file from its start, leaving its position alone (the
/// output sink reads it too).
fn copy_whole(from: &File, to: &mut File) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = 0u64;
    loop {
        let n = from.read_at(&mut buf, at)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
        at += n as u64;
    }
}

impl Sink for ResultsSink {
    fn handle(&mut self, event: &RunEvent<'_>, control: &mut Control<'_>) {
        // Only jobs that ran have output (GNU makes no files for the
        // others); a job of several items (`-n`, `-X`) has its files under
        // its first item's values, which carries the job's output.
        if let RunEvent::Finished(done) = event
            && done.finished.attempts > 0
            && !matches!(done.finished.job, Some(JobPart::Member { .. }))
            && !self.failed
            && let Err((path, e)) = self.save(done)
        {
            self.failed = true;
            control.fail(format!(
                "failed to write --results file `{}`: {e}",
                path.display()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ItemData;

    fn path(pairs: &[(&str, &str)]) -> String {
        let pairs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        results_path(Path::new("out"), &pairs)
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn layout_is_gnus_for_one_and_several_sources() {
        // `parallel --results out echo ::: a` and `... {1} {2} ::: A B ::: C D`
        // and `--header : ... ::: f1 A ::: f2 C`, run here.
        assert_eq!(path(&[("1", "a")]), "out/1/a");
        assert_eq!(path(&[("1", "A"), ("2", "D")]), "out/1/A/2/D");
        assert_eq!(path(&[("f1", "A"), ("f2", "C")]), "out/f1/A/f2/C");
    }

    #[test]
    fn values_are_escaped_as_gnu_escapes_them() {
        // GNU parallel made these directories from the same values here.
        assert_eq!(path(&[("1", "x/y")]), "out/1/x\\_y");
        assert_eq!(path(&[("1", "t\tb")]), "out/1/t\\tb");
        assert_eq!(path(&[("1", "a\\b")]), "out/1/a\\\\b");
        assert_eq!(path(&[("1", "n\0l")]), "out/1/n\\0l");
        assert_eq!(path(&[("1", "../../x")]), "out/1/..\\_..\\_x");
        assert_eq!(path(&[("1", "/etc")]), "out/1/\\_etc");
        assert_eq!(path(&[("1", ".bashrc")]), "out/1/.bashrc");
    }

    #[test]
    fn dot_dotdot_and_empty_stay_inside_and_apart() {
        assert_eq!(path(&[("1", ".")]), "out/1/\\.");
        assert_eq!(path(&[("1", "..")]), "out/1/\\.\\.");
        assert_eq!(path(&[("1", "")]), "out/1/\\e");
        assert_eq!(path(&[("..", "..")]), "out/\\.\\./\\.\\.");
        // The spellings cannot come from other values: their `\` doubles.
        assert_eq!(path(&[("1", "\\.")]), "out/1/\\\\.");
        assert_eq!(path(&[("1", "\\e")]), "out/1/\\\\e");
    }

    #[test]
    fn long_values_are_cut_with_a_hash_and_stay_apart() {
        let long_a = format!("{}a", "é".repeat(200));
        let long_b = format!("{}b", "é".repeat(200));
        let a = safe_component(long_a.as_bytes());
        let b = safe_component(long_b.as_bytes());
        assert!(a.len() <= NAME_MAX && b.len() <= NAME_MAX);
        assert_ne!(a, b);
        // Cut at a character boundary: still UTF-8.
        let a = String::from_utf8(a).expect("whole characters");
        assert!(a.contains("\\h"), "{a}");
        // A value that fits is untouched.
        let fits = "x".repeat(NAME_MAX);
        assert_eq!(safe_component(fits.as_bytes()), fits.as_bytes());
    }

    #[test]
    fn no_value_leaves_the_directory() {
        let hostile = [
            "..",
            ".",
            "",
            "../../x",
            "/etc",
            "a/../../b",
            "/",
            "//",
            "\\",
            "\0",
            "../",
        ];
        for value in hostile {
            let built = results_path(Path::new("/r"), &[(b"1", value.as_bytes())]);
            let components: Vec<_> = built.components().collect();
            assert_eq!(components.len(), 4, "{value:?} -> {}", built.display());
            assert!(
                components.iter().all(|c| matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::RootDir
                )),
                "{value:?} -> {}",
                built.display()
            );
        }
    }

    #[test]
    fn pairs_of_one_source_are_its_value_or_its_columns() {
        let plain = Item::plain(1, "a b");
        assert_eq!(item_pairs(&plain, None), vec![(b"1".to_vec(), &b"a b"[..])]);
        let columns = Item {
            data: ItemData::Columns(vec![b"x".to_vec(), b"y".to_vec()]),
            ..Item::plain(2, "x,y")
        };
        assert_eq!(
            item_pairs(&columns, None),
            vec![(b"1".to_vec(), &b"x"[..]), (b"2".to_vec(), &b"y"[..])]
        );
        let headers = vec!["name".to_owned(), "age".to_owned()];
        assert_eq!(
            item_pairs(&columns, Some(&headers)),
            vec![(b"name".to_vec(), &b"x"[..]), (b"age".to_vec(), &b"y"[..])]
        );
    }
}

//! `:::` arguments: each argument is an item, its bytes exact on Unix, split
//! into columns only with `--colsep`. An item's `line` is the argument's
//! position, and messages call it "`:::` item N".

use std::ffi::OsString;
use std::io;

use super::colsep::ColumnSplitter;
use super::split::columns;
use super::{Record, RecordSource};

pub(crate) struct ArgSource {
    args: std::vec::IntoIter<OsString>,
    position: u64,
    colsep: Option<ColumnSplitter>,
}

impl ArgSource {
    pub(crate) fn new(args: Vec<OsString>, colsep: Option<ColumnSplitter>) -> ArgSource {
        ArgSource {
            args: args.into_iter(),
            position: 0,
            colsep,
        }
    }
}

impl RecordSource for ArgSource {
    fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
        let arg = self.args.next()?;
        self.position += 1;
        let raw = os_bytes(arg);
        Some(Ok(Record {
            line: self.position,
            data: columns(&raw, self.colsep.as_ref()),
            raw,
        }))
    }
}

/// An argument's bytes: exact on Unix, lossy UTF-8 elsewhere.
fn os_bytes(arg: OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStringExt::into_vec(arg)
    }
    #[cfg(not(unix))]
    {
        arg.to_string_lossy().into_owned().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use crate::input::Reader;
    use crate::input::test_support::*;
    use crate::item::Item;

    #[test]
    fn from_args() {
        let args = vec![
            OsString::from("a b"),
            OsString::from(""),
            OsString::from("c"),
        ];
        let mut reader = Reader::from_args(args, None);
        assert_eq!(reader.name(), ":::");
        assert!(reader.headers().is_none());
        let items: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(
            items,
            [
                Item::plain(1, "a b"),
                Item::plain(2, ""),
                Item::plain(3, "c")
            ]
        );
        assert!(reader.next().is_none());
        assert_eq!(Reader::from_args(Vec::new(), None).count(), 0);
    }

    #[test]
    fn from_args_colsep_and_bytes() {
        let items: Vec<_> = Reader::from_args(
            vec!["x=1".into(), "y".into()],
            Some(crate::input::ColumnSplitter::new(b"=").unwrap()),
        )
        .map(Result::unwrap)
        .collect();
        assert_eq!(items[0].data, column_data(&["x", "1"]));
        assert_eq!(items[0].raw, b"x=1");
        assert_eq!(items[1].data, column_data(&["y"]));
        assert_eq!(items[1].line, 2);
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let arg = OsString::from_vec(b"\xff\n".to_vec());
            let item = Reader::from_args(vec![arg], None).next().unwrap().unwrap();
            assert_eq!(item.raw, b"\xff\n");
        }
    }
}

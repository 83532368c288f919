//! What a placeholder stands for: resolved once against the input's schema
//! (`{}`, the path forms, `{#}`, `{%}`, numbered and named columns, JSON
//! paths), then read out of each item.

use std::borrow::Cow;

use serde_json::Value;

use crate::item::{Format, Item, ItemData};

use super::path::{basename, dirname, strip_ext, without_ext};
use super::{Schema, TemplateError};

/// What a placeholder stands for, resolved at parse time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Placeholder {
    /// `{}`
    Whole,
    /// `{.}`
    WithoutExtension,
    /// `{/}`
    Basename,
    /// `{//}`
    Dirname,
    /// `{/.}`
    BasenameWithoutExtension,
    /// `{#}`: the item's sequence number.
    Seq,
    /// `{%}`: the worker slot.
    Slot,
    /// `{##}`: the number of items (GNU `--plus`), filled in by
    /// `Template::set_total` before the run.
    Total(u64),
    /// `{0#}`: `{#}` zero-padded to the width of the total (GNU `--plus`).
    PaddedSeq { width: usize },
    /// `{N}` or `{name}` of a CSV/TSV header: the 0-based column index.
    Column(usize),
    /// `{.a.b}`, or `{name}` of a JSON record.
    Json(JsonPath),
    /// `{N}` when a job runs several items (`-N`): the job's Nth item,
    /// 0-based here; empty when the job has fewer.
    BatchItem(usize),
}

impl Placeholder {
    /// Whether the value comes from each item of a batch (`{}`, the path
    /// forms, columns, fields), not from the job (`{#}`, `{%}`, `{N}`).
    pub(crate) fn is_per_item(&self) -> bool {
        !matches!(
            self,
            Placeholder::Seq
                | Placeholder::Slot
                | Placeholder::BatchItem(_)
                | Placeholder::Total(_)
                | Placeholder::PaddedSeq { .. }
        )
    }
}

/// A dotted path into a JSON record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    segments: Vec<JsonSegment>,
    /// The placeholder as written (`{.a.b}`, `{name}`), for messages.
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
struct JsonSegment {
    key: String,
    /// Set when the segment is a number, so it can index arrays.
    index: Option<usize>,
}

/// Turns the text between braces into a placeholder, or says why it cannot be one.
pub(crate) fn resolve(
    content: &[u8],
    text: &str,
    schema: &Schema,
) -> Result<Placeholder, TemplateError> {
    let placeholder = || text.to_string();
    match content {
        b"" => return Ok(Placeholder::Whole),
        b"." => return Ok(Placeholder::WithoutExtension),
        b"/" => return Ok(Placeholder::Basename),
        b"//" => return Ok(Placeholder::Dirname),
        b"/." => return Ok(Placeholder::BasenameWithoutExtension),
        b"#" => return Ok(Placeholder::Seq),
        b"%" => return Ok(Placeholder::Slot),
        b"##" => return Ok(Placeholder::Total(0)),
        b"0#" => return Ok(Placeholder::PaddedSeq { width: 0 }),
        _ => {}
    }
    let unknown = |hint| TemplateError::Unknown {
        placeholder: placeholder(),
        hint,
    };
    let brace_hint = " (write `{{` and `}}` for literal braces)";
    let Ok(content) = std::str::from_utf8(content) else {
        return Err(unknown(brace_hint));
    };
    let format = schema.format;
    if content.bytes().all(|b| b.is_ascii_digit()) {
        let Ok(n) = content.parse::<usize>() else {
            return Err(unknown(""));
        };
        if n == 0 {
            return Err(TemplateError::ZeroColumn {
                placeholder: placeholder(),
            });
        }
        // In a job of several items `{N}` is its Nth item, unless the
        // items have columns: then it stays each item's column.
        let columns = schema.colsep || matches!(format, Format::Csv | Format::Tsv);
        if schema.batch && !columns {
            return Ok(Placeholder::BatchItem(n - 1));
        }
        return match format {
            Format::Csv | Format::Tsv => match schema.headers {
                Some(headers) if n > headers.len() => Err(TemplateError::ColumnOutOfRange {
                    placeholder: placeholder(),
                    count: headers.len(),
                    columns: headers.join(", "),
                }),
                _ => Ok(Placeholder::Column(n - 1)),
            },
            Format::Jsonl if n > 1 => Err(TemplateError::NoColumns {
                placeholder: placeholder(),
            }),
            Format::Lines | Format::Null if n > 1 && !schema.colsep => {
                Err(TemplateError::NeedsColsep {
                    placeholder: placeholder(),
                    format: format.as_str(),
                })
            }
            _ => Ok(Placeholder::Column(n - 1)),
        };
    }
    if let Some(path) = content.strip_prefix('.') {
        if format != Format::Jsonl {
            return Err(TemplateError::NeedsJsonl {
                placeholder: placeholder(),
                format: format.as_str(),
            });
        }
        if path.split('.').any(str::is_empty) {
            return Err(TemplateError::BadJsonPath {
                placeholder: placeholder(),
            });
        }
        return Ok(Placeholder::Json(json_path(path.split('.'), text)));
    }
    match format {
        Format::Csv | Format::Tsv => {
            let Some(headers) = schema.headers else {
                return if is_name(content) {
                    Err(TemplateError::NoHeader {
                        placeholder: placeholder(),
                    })
                } else {
                    Err(unknown(brace_hint))
                };
            };
            // An exact header match wins, whatever characters it holds.
            if let Some(index) = headers.iter().position(|h| h == content) {
                Ok(Placeholder::Column(index))
            } else if is_name(content) {
                Err(TemplateError::NotInHeader {
                    placeholder: placeholder(),
                    columns: headers.join(", "),
                })
            } else {
                Err(unknown(brace_hint))
            }
        }
        Format::Jsonl if is_name(content) => {
            Ok(Placeholder::Json(json_path(std::iter::once(content), text)))
        }
        Format::Lines | Format::Null if is_name(content) => {
            Err(unknown(" (named columns need --format csv, tsv or jsonl)"))
        }
        _ => Err(unknown(brace_hint)),
    }
}

/// Whether placeholder text looks like a column or field name (not code).
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn json_path<'s>(segments: impl Iterator<Item = &'s str>, written: &str) -> JsonPath {
    let segments: Vec<JsonSegment> = segments
        .map(|key| JsonSegment {
            key: key.to_string(),
            index: if key.bytes().all(|b| b.is_ascii_digit()) {
                key.parse().ok()
            } else {
                None
            },
        })
        .collect();
    JsonPath {
        segments,
        text: written.to_owned(),
    }
}

/// The bytes a placeholder stands for in this item.
pub(crate) fn value<'a>(
    placeholder: &Placeholder,
    item: &'a Item,
    slot: usize,
    digits: &'a mut [u8; 20],
) -> Result<Cow<'a, [u8]>, String> {
    let raw = item.raw.as_slice();
    Ok(Cow::Borrowed(match placeholder {
        Placeholder::Whole => raw,
        Placeholder::WithoutExtension => without_ext(raw),
        Placeholder::Basename => basename(raw),
        Placeholder::Dirname => dirname(raw),
        Placeholder::BasenameWithoutExtension => strip_ext(basename(raw)),
        Placeholder::Seq => write_number(digits, item.seq),
        Placeholder::Slot => write_number(digits, slot as u64),
        Placeholder::Total(total) => write_number(digits, *total),
        Placeholder::PaddedSeq { width } => {
            return Ok(Cow::Owned(
                format!("{:0width$}", item.seq, width = *width).into_bytes(),
            ));
        }
        Placeholder::Column(index) => match &item.data {
            ItemData::Columns(fields) => match fields.get(*index) {
                Some(field) => field,
                None => return Err(missing_column(*index, fields.len())),
            },
            _ if *index == 0 => raw,
            _ => return Err(missing_column(*index, 1)),
        },
        Placeholder::BatchItem(0) => raw,
        Placeholder::BatchItem(_) => b"",
        Placeholder::Json(path) => {
            let found = match &item.data {
                ItemData::Json(record) => lookup(record, path),
                _ => None,
            };
            match found {
                Some(Value::String(s)) => s.as_bytes(),
                Some(Value::Null) => b"",
                Some(Value::Bool(true)) => b"true",
                Some(Value::Bool(false)) => b"false",
                Some(Value::Number(n)) => return Ok(Cow::Owned(n.to_string().into_bytes())),
                Some(other) => {
                    return Ok(Cow::Owned(
                        serde_json::to_vec(other).map_err(|e| e.to_string())?,
                    ));
                }
                None => return Err(format!("no field `{}` in this record", path.text)),
            }
        }
    }))
}

fn missing_column(index: usize, count: usize) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!(
        "no column {} in this row ({count} column{plural})",
        index + 1
    )
}

fn lookup<'v>(record: &'v Value, path: &JsonPath) -> Option<&'v Value> {
    let mut current = record;
    for segment in &path.segments {
        current = match current {
            Value::Object(map) => map.get(&segment.key)?,
            Value::Array(values) => values.get(segment.index?)?,
            _ => return None,
        };
    }
    Some(current)
}

impl Placeholder {
    /// Whether the value needs the number of items (`{##}`, `{0#}`).
    pub(crate) fn needs_total(&self) -> bool {
        matches!(self, Placeholder::Total(_) | Placeholder::PaddedSeq { .. })
    }

    /// Gives `{##}` and `{0#}` the number of items.
    pub(crate) fn set_total(&mut self, total: u64) {
        match self {
            Placeholder::Total(value) => *value = total,
            Placeholder::PaddedSeq { width } => *width = total.to_string().len(),
            _ => {}
        }
    }
}

fn write_number(digits: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

#[cfg(test)]
mod tests {
    use crate::item::{Format, Item, ItemData};
    use crate::template::tests::*;
    use crate::template::{Schema, ShellMode, Template};

    #[test]
    fn every_placeholder_renders() {
        let t = parse(&["x", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "{1}"]);
        let mut item = Item::plain(7, "dir/sub/file.tar.gz");
        item.seq = 42;
        let spec = t.render(&item, 3).unwrap();
        let args: Vec<_> = spec.args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "dir/sub/file.tar.gz",
                "dir/sub/file.tar",
                "file.tar.gz",
                "dir/sub",
                "file.tar",
                "42",
                "3",
                "dir/sub/file.tar.gz"
            ]
        );
    }

    #[test]
    fn placeholders_inside_words() {
        let t = parse(&["convert", "{}", "out/{/.}.webp", "--seq={#}"]);
        let got = argv(&t, &Item::plain(5, "in/cat.png"));
        assert_eq!(
            got,
            [&b"convert"[..], b"in/cat.png", b"out/cat.webp", b"--seq=5"]
        );
    }

    #[test]
    fn numbered_columns() {
        let colsep = Schema {
            colsep: true,
            batch: false,
            ..lines()
        };
        let t = Template::parse(&os(&["p", "{2}", "{1}"]), ShellMode::Auto, &colsep).unwrap();
        let row = item_with(
            ItemData::Columns(vec![b"a".to_vec(), b"b\xff".to_vec()]),
            b"a,b\xff",
        );
        assert_eq!(argv(&t, &row), [&b"p"[..], b"b\xff", b"a"]);
        let t = Template::parse(&os(&["p", "{3}"]), ShellMode::Auto, &colsep).unwrap();
        assert_eq!(
            t.render(&row, 1).unwrap_err(),
            "no column 3 in this row (2 columns)"
        );
        let t = Template::parse(&os(&["p", "{2}"]), ShellMode::Auto, &colsep).unwrap();
        assert_eq!(
            t.render(&Item::plain(1, "whole"), 1).unwrap_err(),
            "no column 2 in this row (1 column)"
        );
        // `{1}` of a plain item is the whole item.
        let t = parse(&["p", "{1}"]);
        assert_eq!(argv(&t, &Item::plain(1, "a b")), [&b"p"[..], b"a b"]);
    }

    #[test]
    fn csv_header_names_and_indices() {
        let headers = vec![
            "name".to_string(),
            "city".to_string(),
            "first name".to_string(),
        ];
        for format in [Format::Csv, Format::Tsv] {
            let schema = Schema {
                format,
                headers: Some(&headers),
                colsep: false,
                batch: false,
            };
            let t = Template::parse(
                &os(&["p", "{city}", "{1}", "{name}-{3}", "{first name}"]),
                ShellMode::Auto,
                &schema,
            )
            .unwrap();
            let row = item_with(
                ItemData::Columns(vec![b"ann".to_vec(), b"oslo".to_vec(), b"a".to_vec()]),
                b"ann,oslo,a",
            );
            assert_eq!(argv(&t, &row), [&b"p"[..], b"oslo", b"ann", b"ann-a", b"a"]);
            // A short row is this item's problem, found at render time.
            let short = item_with(ItemData::Columns(vec![b"bo".to_vec()]), b"bo");
            assert_eq!(
                t.render(&short, 1).unwrap_err(),
                "no column 2 in this row (1 column)"
            );
        }
    }

    #[test]
    fn csv_header_errors() {
        let headers = vec!["name".to_string(), "city".to_string()];
        let csv = Schema {
            format: Format::Csv,
            headers: Some(&headers),
            colsep: false,
            batch: false,
        };
        assert_eq!(
            parse_err(&["p", "{age}"], &csv),
            "column `{age}` is not in the header (columns: name, city)"
        );
        assert_eq!(
            parse_err(&["p", "{3}"], &csv),
            "column `{3}` is past the end of the header (2 columns: name, city)"
        );
        assert_eq!(
            parse_err(&["p", "{0}"], &csv),
            "column `{0}` does not exist: columns are numbered from 1"
        );
        let no_header = schema(Format::Csv);
        assert_eq!(
            parse_err(&["p", "{name}"], &no_header),
            "column `{name}` cannot be resolved: the input has no header row"
        );
        // Without a header, numbered columns are checked per row.
        assert!(Template::parse(&os(&["p", "{9}"]), ShellMode::Auto, &no_header).is_ok());
    }

    #[test]
    fn json_paths() {
        let item = json_item(
            r#"{"name":"a'b","user":{"id":7,"tags":["x","y"],"ok":true},"n":null,"f":1.5,"o":{"k":[1,{"z":2}]}}"#,
        );
        let t = jsonl(&[
            "p",
            "{name}",
            "{.user.id}",
            "{.user.tags.1}",
            "{.user.ok}",
            "{.n}",
            "{.f}",
            "{.user.tags}",
            "{.o}",
            "{.o.k.1.z}",
            "{1}",
        ]);
        let got = argv(&t, &item);
        let want: Vec<&[u8]> = vec![
            b"p",
            b"a'b",
            b"7",
            b"y",
            b"true",
            b"",
            b"1.5",
            br#"["x","y"]"#,
            br#"{"k":[1,{"z":2}]}"#,
            b"2",
            item.raw.as_slice(),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn json_missing_fields_fail_the_item() {
        let item = json_item(r#"{"a":{"b":[1]},"s":"str"}"#);
        // The placeholder is named as written.
        for placeholder in ["{.a.c}", "{.a.b.1}", "{.a.b.x}", "{.s.len}", "{missing}"] {
            let t = jsonl(&["p", placeholder]);
            assert_eq!(
                t.render(&item, 1).unwrap_err(),
                format!("no field `{placeholder}` in this record")
            );
        }
        // A numeric segment is also a key of an object.
        let t = jsonl(&["p", "{.m.0}"]);
        assert_eq!(argv(&t, &json_item(r#"{"m":{"0":"z"}}"#))[1], b"z");
    }

    #[test]
    fn json_placeholder_errors() {
        let jsonl = schema(Format::Jsonl);
        assert_eq!(
            parse_err(&["p", "{.a..b}"], &jsonl),
            "invalid JSON path `{.a..b}`: a field name is empty"
        );
        assert!(parse_err(&["p", "{.a.}"], &jsonl).starts_with("invalid JSON path"));
        assert_eq!(
            parse_err(&["p", "{2}"], &jsonl),
            "`{2}` needs columns, but jsonl records have none (use `{.field}`)"
        );
        assert_eq!(
            parse_err(&["p", "{.a}"], &schema(Format::Csv)),
            "`{.a}` reads a JSON field, which needs --format jsonl (the input format is csv)"
        );
        assert!(parse_err(&["p", "{.a}"], &lines()).contains("needs --format jsonl"));
    }
}

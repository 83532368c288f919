//! What a placeholder stands for: resolved once against the input's schema
//! (`{}`, the path forms, `{#}`, `{%}`, numbered and named columns or
//! positions, `{-1}` counted from the end, path forms on them such as
//! `{2/.}`, JSON paths), then read out of each item.

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
    /// The `{}` appended to a template without placeholders: the item, or
    /// for an item of several sources each position as its own argument
    /// (in shell mode its own quoted word), as GNU parallel appends them.
    Appended,
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
    /// `{N}`, `{-N}` or `{name}` of a header, with a path form (`{2/.}`): a
    /// column, or a position of an item of several sources.
    Column(Column),
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

/// A column or position, counted from the start or the end, and what of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) at: At,
    pub(crate) form: PathForm,
}

/// Where a column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// 0-based from the first (`{1}` is `Start(0)`).
    Start(usize),
    /// 1-based from the last (`{-1}` is `End(1)`).
    End(usize),
}

/// What of a value a placeholder takes: all of it or a path form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathForm {
    /// As it is.
    Whole,
    /// `.`: without extension.
    WithoutExtension,
    /// `/`: basename.
    Basename,
    /// `//`: dirname.
    Dirname,
    /// `/.`: basename without extension.
    BasenameWithoutExtension,
}

impl PathForm {
    /// The form a placeholder's suffix names, and the text before it.
    fn split(content: &str) -> (&str, PathForm) {
        // Longest suffixes first: `//` and `/.` before `/` and `.`.
        for (suffix, form) in [
            ("/.", PathForm::BasenameWithoutExtension),
            ("//", PathForm::Dirname),
            ("/", PathForm::Basename),
            (".", PathForm::WithoutExtension),
        ] {
            if let Some(rest) = content.strip_suffix(suffix) {
                return (rest, form);
            }
        }
        (content, PathForm::Whole)
    }

    fn apply(self, value: &[u8]) -> &[u8] {
        match self {
            PathForm::Whole => value,
            PathForm::WithoutExtension => without_ext(value),
            PathForm::Basename => basename(value),
            PathForm::Dirname => dirname(value),
            PathForm::BasenameWithoutExtension => strip_ext(basename(value)),
        }
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

/// `N` or `-N` (digits only), with an optional path-form suffix.
fn numbered(content: &str) -> Option<(bool, &str, PathForm)> {
    let (rest, form) = PathForm::split(content);
    let (from_end, digits) = match rest.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, rest),
    };
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some((from_end, digits, form))
}

/// Turns the text between braces into a placeholder, or says why it cannot be one.
pub(crate) fn resolve(
    content: &[u8],
    text: &str,
    schema: &Schema,
) -> Result<Placeholder, TemplateError> {
    let resolved = resolve_content(content, text, schema)?;
    // A job of several combinations has one list of values (each
    // position), which `{N}` indexes; a position of each combination
    // (`{-1}`, `{2/.}`, `{name}`) would not say which combination.
    if schema.batch && schema.sources > 1 && matches!(resolved, Placeholder::Column(_)) {
        return Err(TemplateError::PositionInBatch {
            placeholder: text.to_string(),
        });
    }
    Ok(resolved)
}

fn resolve_content(
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
    if let Some((from_end, digits, form)) = numbered(content) {
        return numbered_column(from_end, digits, form, text, schema);
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
    // An exact header match wins, whatever characters it holds; then
    // `{name/.}` and the other path forms of a header name.
    if let Some(headers) = schema.headers {
        if let Some(index) = headers.iter().position(|h| h == content) {
            return Ok(column(At::Start(index), PathForm::Whole));
        }
        let (name, form) = PathForm::split(content);
        if form != PathForm::Whole
            && let Some(index) = headers.iter().position(|h| h == name)
        {
            return Ok(column(At::Start(index), form));
        }
    }
    let named = schema.headers.is_some() && format != Format::Jsonl;
    match format {
        _ if named => {
            let headers = schema.headers.unwrap_or_default();
            if is_name(PathForm::split(content).0) {
                Err(TemplateError::NotInHeader {
                    placeholder: placeholder(),
                    columns: headers.join(", "),
                })
            } else {
                Err(unknown(brace_hint))
            }
        }
        Format::Csv | Format::Tsv => {
            if is_name(content) {
                Err(TemplateError::NoHeader {
                    placeholder: placeholder(),
                })
            } else {
                Err(unknown(brace_hint))
            }
        }
        Format::Jsonl if is_name(content) => {
            Ok(Placeholder::Json(json_path(std::iter::once(content), text)))
        }
        Format::Lines | Format::Null if is_name(content) => Err(unknown(
            " (named columns need --format csv, tsv or jsonl, or --header :)",
        )),
        _ => Err(unknown(brace_hint)),
    }
}

fn column(at: At, form: PathForm) -> Placeholder {
    Placeholder::Column(Column { at, form })
}

/// `{N}` or `{-N}` (with a path form), checked against what the schema
/// knows of the columns or positions.
fn numbered_column(
    from_end: bool,
    digits: &str,
    form: PathForm,
    text: &str,
    schema: &Schema,
) -> Result<Placeholder, TemplateError> {
    let placeholder = || text.to_string();
    let Ok(n) = digits.parse::<usize>() else {
        return Err(TemplateError::Unknown {
            placeholder: placeholder(),
            hint: "",
        });
    };
    if n == 0 {
        return Err(TemplateError::ZeroColumn {
            placeholder: placeholder(),
        });
    }
    // In a job of several items `{N}` is its Nth value, unless the items
    // have columns: then it stays each item's column.
    // (Several sources count their values across the job's combinations,
    // whatever splits them.)
    let columns = schema.sources == 1
        && (schema.colsep || matches!(schema.format, Format::Csv | Format::Tsv));
    if schema.batch && !from_end && form == PathForm::Whole && !columns {
        return Ok(Placeholder::BatchItem(n - 1));
    }
    let at = if from_end {
        At::End(n)
    } else {
        At::Start(n - 1)
    };
    let format = schema.format;
    match format {
        Format::Csv | Format::Tsv => match schema.headers {
            Some(headers) if n > headers.len() => Err(TemplateError::ColumnOutOfRange {
                placeholder: placeholder(),
                count: headers.len(),
                columns: headers.join(", "),
            }),
            _ => Ok(column(at, form)),
        },
        Format::Jsonl if n > 1 => Err(TemplateError::NoColumns {
            placeholder: placeholder(),
        }),
        // Several sources without --colsep: one position per source.
        Format::Lines | Format::Null if schema.sources > 1 && !schema.colsep => {
            if n > schema.sources {
                Err(TemplateError::PastLastSource {
                    placeholder: placeholder(),
                    count: schema.sources,
                })
            } else {
                Ok(column(at, form))
            }
        }
        Format::Lines | Format::Null if n > 1 && !schema.colsep => {
            Err(TemplateError::NeedsColsep {
                placeholder: placeholder(),
                format: format.as_str(),
            })
        }
        _ => Ok(column(at, form)),
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
    let whole_form = |form: PathForm| -> Cow<'a, [u8]> {
        match &item.data {
            // GNU parallel: a path form of several sources' `{}` applies
            // to each position, joined by spaces.
            ItemData::Combined(combination) => {
                let mut out = Vec::with_capacity(raw.len());
                for (n, position) in combination.positions().enumerate() {
                    if n > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(form.apply(position));
                }
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(form.apply(raw)),
        }
    };
    Ok(match placeholder {
        Placeholder::Whole | Placeholder::Appended => Cow::Borrowed(raw),
        Placeholder::WithoutExtension => whole_form(PathForm::WithoutExtension),
        Placeholder::Basename => whole_form(PathForm::Basename),
        Placeholder::Dirname => whole_form(PathForm::Dirname),
        Placeholder::BasenameWithoutExtension => whole_form(PathForm::BasenameWithoutExtension),
        Placeholder::Seq => Cow::Borrowed(write_number(digits, item.seq)),
        Placeholder::Slot => Cow::Borrowed(write_number(digits, slot as u64)),
        Placeholder::Total(total) => Cow::Borrowed(write_number(digits, *total)),
        Placeholder::PaddedSeq { width } => {
            Cow::Owned(format!("{:0width$}", item.seq, width = *width).into_bytes())
        }
        Placeholder::BatchItem(0) => Cow::Borrowed(raw),
        Placeholder::BatchItem(_) => Cow::Borrowed(b""),
        Placeholder::Column(column) => {
            Cow::Borrowed(column.form.apply(column_value(item, column.at)?))
        }
        Placeholder::Json(path) => {
            let found = match &item.data {
                ItemData::Json(record) => lookup(record, path),
                _ => None,
            };
            Cow::Borrowed(match found {
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
            })
        }
    })
}

/// A column of a row, or a position of an item of several sources.
fn column_value(item: &Item, at: At) -> Result<&[u8], String> {
    let index = |count: usize| match at {
        At::Start(index) => Some(index),
        At::End(back) => count.checked_sub(back),
    };
    let wanted = |count| match at {
        At::Start(index) => format!("{}", index + 1),
        At::End(back) => {
            let _ = count;
            format!("-{back}")
        }
    };
    match &item.data {
        ItemData::Columns(fields) => index(fields.len())
            .and_then(|i| fields.get(i))
            .map(Vec::as_slice)
            .ok_or_else(|| missing("column", "row", &wanted(fields.len()), fields.len())),
        ItemData::Combined(combination) => {
            let count = combination.positions().count();
            index(count)
                .and_then(|i| combination.positions().nth(i))
                .ok_or_else(|| missing("position", "item", &wanted(count), count))
        }
        _ if index(1) == Some(0) => Ok(item.raw.as_slice()),
        _ => Err(missing("column", "row", &wanted(1), 1)),
    }
}

fn missing(what: &str, of: &str, wanted: &str, count: usize) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("no {what} {wanted} in this {of} ({count} {what}{plural})")
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
                sources: 1,
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
            sources: 1,
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

    /// An item of several sources, each value split at `,` when `colsep`.
    fn combined(values: &[&str], colsep: bool) -> Item {
        use crate::item::{Combination, SourceValue};
        let values: Vec<SourceValue> = values
            .iter()
            .enumerate()
            .map(|(source, v)| SourceValue {
                raw: v.as_bytes().to_vec(),
                columns: colsep.then(|| v.split(',').map(|c| c.as_bytes().to_vec()).collect()),
                source,
                line: 1,
            })
            .collect();
        let combination = Combination {
            values,
            sources: std::sync::Arc::from(Vec::new()),
        };
        let raw = combination
            .positions()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        item_with(ItemData::Combined(Box::new(combination)), raw.as_bytes())
    }

    fn sources(n: usize, colsep: bool) -> Schema<'static> {
        Schema {
            colsep,
            sources: n,
            ..lines()
        }
    }

    fn render_with(words: &[&str], schema: &Schema, item: &Item) -> Vec<String> {
        let t = Template::parse(&os(words), ShellMode::Auto, schema).unwrap();
        argv(&t, item)
            .into_iter()
            .map(|w| String::from_utf8(w).unwrap())
            .collect()
    }

    #[test]
    fn positions_of_several_sources() {
        let item = combined(&["A", "d/f.txt", "x/y.tar.gz"], false);
        let words = [
            "p", "{}", "{1}", "{2}", "{-1}", "{-3}", "{2.}", "{2/}", "{2//}", "{2/.}", "{-1/.}",
            "{.}", "{/}",
        ];
        assert_eq!(
            render_with(&words, &sources(3, false), &item),
            [
                "p",
                "A d/f.txt x/y.tar.gz",
                "A",
                "d/f.txt",
                "x/y.tar.gz",
                "A",
                "d/f",
                "f.txt",
                "d",
                "f",
                "y.tar",
                // GNU: a path form of `{}` applies to each position.
                "A d/f x/y.tar",
                "A f.txt y.tar.gz",
            ]
        );
        // Without --colsep the number of positions is known: a reference
        // past it is refused before anything runs.
        for (word, want) in [
            (
                "{4}",
                "`{4}` is past the last input source (3 sources, `{1}` to `{3}`)",
            ),
            (
                "{-4}",
                "`{-4}` is past the last input source (3 sources, `{1}` to `{3}`)",
            ),
            (
                "{0}",
                "column `{0}` does not exist: columns are numbered from 1",
            ),
        ] {
            assert_eq!(parse_err(&["p", word], &sources(3, false)), want);
        }
    }

    #[test]
    fn colsep_columns_are_positions() {
        // `parallel --colsep , echo {1} {2} {3} ::: a,b ::: c` prints `a b c`.
        let item = combined(&["a,b", "c"], true);
        let schema = sources(2, true);
        assert_eq!(
            render_with(&["p", "{1}", "{2}", "{3}", "{-1}", "{}"], &schema, &item),
            ["p", "a", "b", "c", "c", "a b c"]
        );
        // With --colsep the count varies by row: checked per item.
        let t = Template::parse(&os(&["p", "{4}"]), ShellMode::Auto, &schema).unwrap();
        assert_eq!(
            t.render(&item, 1).unwrap_err(),
            "no position 4 in this item (3 positions)"
        );
        let t = Template::parse(&os(&["p", "{-4}"]), ShellMode::Auto, &schema).unwrap();
        assert_eq!(
            t.render(&item, 1).unwrap_err(),
            "no position -4 in this item (3 positions)"
        );
    }

    #[test]
    fn single_source_positions_and_path_forms() {
        // `{1}` without --colsep stays the whole item; `{-1}` too.
        let plain = Item::plain(1, "dir/a b.txt");
        assert_eq!(
            render_with(&["p", "{1}", "{-1}", "{1/.}", "{-1//}"], &lines(), &plain),
            ["p", "dir/a b.txt", "dir/a b.txt", "a b", "dir"]
        );
        assert!(parse_err(&["p", "{-2}"], &lines()).contains("needs --colsep"));
        let row = item_with(
            ItemData::Columns(vec![b"x/a.c".to_vec(), b"y/b.d".to_vec()]),
            b"x/a.c,y/b.d",
        );
        let colsep = sources(1, true);
        assert_eq!(
            render_with(&["p", "{-1}", "{-2/}", "{2.}", "{1//}"], &colsep, &row),
            ["p", "y/b.d", "a.c", "y/b", "x"]
        );
    }

    #[test]
    fn header_names_are_positions() {
        let headers = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let schema = Schema {
            headers: Some(&headers),
            ..sources(2, true)
        };
        let item = combined(&["1,d/e.f", "3"], true);
        assert_eq!(
            render_with(
                &["p", "{a}", "{c}", "{b/.}", "{b//}", "{2}"],
                &schema,
                &item
            ),
            ["p", "1", "3", "e", "d", "d/e.f"]
        );
        assert_eq!(
            parse_err(&["p", "{nope}"], &schema),
            "column `{nope}` is not in the header (columns: a, b, c)"
        );
        assert!(parse_err(&["p", "{nope/}"], &schema).contains("not in the header"));
    }

    #[test]
    fn appended_item_spreads_several_sources() {
        // `parallel diff ::: a ::: b` runs `diff a b`: one argument each.
        let item = combined(&["a b", "c"], false);
        let t = parse(&["diff"]);
        assert_eq!(argv(&t, &item), [&b"diff"[..], b"a b", b"c"]);
        // In shell mode each is its own quoted word.
        let t = Template::parse(&os(&["diff"]), ShellMode::Always, &lines()).unwrap();
        assert_eq!(t.render(&item, 1).unwrap().args[1], "diff 'a b' 'c'");
        // An explicit `{}` stays one value.
        let t = parse(&["echo", "{}"]);
        assert_eq!(argv(&t, &item), [&b"echo"[..], b"a b c"]);
        // A single source's appended item is unchanged.
        let t = parse(&["echo"]);
        assert_eq!(argv(&t, &Item::plain(1, "a b")), [&b"echo"[..], b"a b"]);
    }
}

//! Tests of the template through its public API, and the helpers the
//! hostile-input suite and the shell fuzzer share.

mod batch;
mod fuzz;
mod hostile;

use super::*;
use std::path::Path;
use std::process::Command;

pub(super) fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

pub(super) fn schema(format: Format) -> Schema<'static> {
    Schema {
        format,
        headers: None,
        colsep: false,
        batch: false,
        sources: 1,
    }
}

pub(super) fn lines() -> Schema<'static> {
    schema(Format::Lines)
}

pub(super) fn parse(words: &[&str]) -> Template {
    match Template::parse(&os(words), ShellMode::Auto, &lines()) {
        Ok(t) => t,
        Err(e) => panic!("{words:?}: {e}"),
    }
}

pub(super) fn parse_err(words: &[&str], schema: &Schema) -> String {
    match Template::parse(&os(words), ShellMode::Auto, schema) {
        Ok(t) => panic!("{words:?} parsed: {t:?}"),
        Err(e) => e.to_string(),
    }
}

/// Program and arguments of an argv-mode render, as bytes.
pub(super) fn argv(t: &Template, item: &Item) -> Vec<Vec<u8>> {
    let spec = t.render(item, 1).expect("render");
    assert!(!spec.shell);
    std::iter::once(&spec.program)
        .chain(&spec.args)
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

/// The one rendered value of `echo {...}` for this item.
pub(super) fn one(placeholder: &str, raw: &[u8]) -> Vec<u8> {
    let t = parse(&["echo", placeholder]);
    argv(&t, &Item::plain(1, raw)).remove(1)
}

pub(super) fn shell_line(template: &str, item: &Item) -> String {
    let t = parse(&[template]);
    assert!(t.is_shell(), "{template} should be shell mode");
    let spec = t.render(item, 1).expect("render");
    assert_eq!(spec.program, "/bin/sh");
    assert_eq!(spec.args[0], "-c");
    spec.display()
}

pub(super) fn item_with(data: ItemData, raw: &[u8]) -> Item {
    Item {
        seq: 1,
        line: 1,
        raw: raw.to_vec(),
        data,
        key: String::new(),
        rerun: false,
    }
}

#[test]
fn template_can_be_shared_by_workers() {
    fn shared<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shared::<Template>();
    shared::<CommandSpec>();
}

// --- placeholders -----------------------------------------------------

#[test]
fn appends_item_in_argv_mode() {
    let t = parse(&["echo"]);
    assert!(!t.is_shell());
    assert_eq!(argv(&t, &Item::plain(1, "a b")), [&b"echo"[..], b"a b"]);
    let t = parse(&["gzip", "-9"]);
    assert_eq!(argv(&t, &Item::plain(1, "f")), [&b"gzip"[..], b"-9", b"f"]);
}

#[test]
fn appends_item_in_shell_mode() {
    let item = Item::plain(1, "it's");
    assert_eq!(shell_line("echo hi >&2", &item), r"echo hi >&2 'it'\''s'");
    let t = Template::parse(&os(&["echo"]), ShellMode::Always, &lines()).unwrap();
    assert_eq!(t.render(&item, 1).unwrap().display(), r"echo 'it'\''s'");
}

#[test]
fn no_append_when_only_seq_or_slot_is_used() {
    let t = parse(&["echo", "{#}"]);
    assert_eq!(argv(&t, &Item::plain(9, "x")), [&b"echo"[..], b"9"]);
    let t = parse(&["echo", "{%}"]);
    assert!(t.uses_slot());
    assert_eq!(t.render(&Item::plain(9, "x"), 4).unwrap().args, ["4"]);
    assert!(!parse(&["echo", "{}"]).uses_slot());
}

pub(super) fn json_item(text: &str) -> Item {
    item_with(
        ItemData::Json(serde_json::from_str(text).unwrap()),
        text.as_bytes(),
    )
}

pub(super) fn jsonl(words: &[&str]) -> Template {
    Template::parse(&os(words), ShellMode::Auto, &schema(Format::Jsonl)).unwrap()
}

#[test]
fn bad_items_and_nul_bytes_fail_at_render() {
    let t = parse(&["echo", "{}"]);
    let bad = item_with(ItemData::Bad("unterminated quote".into()), b"\"x");
    assert_eq!(t.render(&bad, 1).unwrap_err(), "unterminated quote");
    let err = t.render(&Item::plain(1, "a\0b"), 1).unwrap_err();
    assert!(err.contains("NUL"), "{err}");
    // A NUL the template does not use does no harm.
    let t = parse(&["echo", "{#}"]);
    assert!(t.render(&Item::plain(1, "a\0b"), 1).is_ok());
}

#[test]
fn mode_detection() {
    for (words, shell) in [
        (&["echo"][..], false),
        (&["{}"], false),
        (&["./run.sh"], false),
        (&["a{#}b"], false),
        (&["x{{y}}"], false),
        (&["echo", "a b", "$(x)"], false),
        (&["sh", "-c", "echo \"$1\"", "_", "{}"], false),
        (&["echo {}"], true),
        (&["gzip -c {} > {}.gz"], true),
        (&["ls;"], true),
        (&["[x]"], true),
        (&["~/bin/run"], true),
        (&["a#b"], true),
        (&["echo\t{}"], true),
    ] {
        assert_eq!(parse(words).is_shell(), shell, "{words:?}");
    }
    let t = Template::parse(&os(&["echo", "a b", "{}"]), ShellMode::Always, &lines()).unwrap();
    assert!(t.is_shell());
    let spec = t.render(&Item::plain(1, "i"), 1).unwrap();
    assert_eq!(spec.args, ["-c", "echo a b 'i'"]);
}

#[test]
fn source_is_the_user_text() {
    let t = parse(&["convert", "{}", "{.}.webp"]);
    assert_eq!(t.source(), "convert {} {.}.webp");
    let t = parse(&["gzip -c {} > {}.gz"]);
    assert_eq!(t.source(), "gzip -c {} > {}.gz");
    let t = Template::parse(
        &[OsString::from_vec(b"e\xff".to_vec())],
        ShellMode::Auto,
        &lines(),
    )
    .unwrap();
    assert_eq!(t.source(), "e\u{fffd}");
}

#[test]
fn display_is_copy_pasteable() {
    let t = parse(&["echo", "{}", "x"]);
    let spec = t.render(&Item::plain(1, "it's a"), 1).unwrap();
    assert_eq!(spec.display(), r"echo 'it'\''s a' x");
    let spec = CommandSpec {
        program: "A=b".into(),
        args: vec!["".into()],
        shell: false,
    };
    assert_eq!(spec.display(), "'A=b' ''");
    let item = Item::plain(1, "a b");
    assert_eq!(shell_line("wc -c {}", &item), "wc -c 'a b'");
}

#[test]
fn display_keeps_non_utf8_bytes() {
    use std::os::unix::ffi::OsStringExt;
    let spec = CommandSpec {
        program: "cat".into(),
        args: vec![OsString::from_vec(b"n\xe9 it's".to_vec())],
        shell: false,
    };
    assert_eq!(spec.display(), r"cat $'n\xe9 it\'s'");
}

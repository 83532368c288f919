//! Batch rendering (`-n`, `-X`, `-m`...): context replace and joined
//! values, in argv and shell mode, every value quoted on its own.

use super::*;
use crate::batch::{BatchOptions, BatchSpec};

fn batch_template(words: &[&str], options: BatchOptions) -> Template {
    let spec = BatchSpec::from_options(&options).expect("a batch spec");
    let schema = Schema {
        batch: true,
        ..lines()
    };
    Template::parse(&os(words), ShellMode::Auto, &schema)
        .unwrap_or_else(|e| panic!("{words:?}: {e}"))
        .for_batches(&spec)
        .unwrap()
}

fn context() -> BatchOptions {
    BatchOptions {
        context: true,
        ..BatchOptions::default()
    }
}

fn joined() -> BatchOptions {
    BatchOptions {
        multiple: true,
        ..BatchOptions::default()
    }
}

fn render(t: &Template, items: &[&str]) -> CommandSpec {
    let owned: Vec<Item> = items
        .iter()
        .enumerate()
        .map(|(n, raw)| Item::plain(n as u64 + 1, *raw))
        .collect();
    let refs: Vec<&Item> = owned.iter().collect();
    t.render_batch(&refs, 7, 1).expect("render")
}

fn args(spec: &CommandSpec) -> Vec<String> {
    std::iter::once(&spec.program)
        .chain(&spec.args)
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn line(spec: &CommandSpec) -> String {
    assert!(spec.shell);
    spec.args[1].to_string_lossy().into_owned()
}

#[test]
fn argv_context_repeats_the_word_and_joined_spreads_it() {
    let t = batch_template(&["cp", "x{}y", "{#}"], context());
    assert_eq!(args(&render(&t, &["a", "b"])), ["cp", "xay", "xby", "7"]);
    let t = batch_template(&["cp", "x{}y", "{#}"], joined());
    assert_eq!(args(&render(&t, &["a", "b c"])), ["cp", "xa", "b cy", "7"]);
    let t = batch_template(&["rm"], joined());
    assert_eq!(args(&render(&t, &["-rf", "$(x)"])), ["rm", "-rf", "$(x)"]);
}

#[test]
fn shell_values_are_quoted_each_in_its_spot() {
    let hostile = ["a b", "$(touch p)", "'"];
    let t = batch_template(&["gzip {} x{}.gz | cat"], context());
    assert_eq!(
        line(&render(&t, &hostile)),
        r#"gzip 'a b' '$(touch p)' ''\''' x'a b'.gz x'$(touch p)'.gz x''\'''.gz | cat"#
    );
    // Inside double quotes, or next to shell syntax, context replace joins.
    let t = batch_template(&[r#"echo "pre {}" $HOME/{}"#], context());
    assert_eq!(
        line(&render(&t, &["a", "b"])),
        r#"echo "pre "'a'" "'b'"" $HOME/'a' 'b'"#
    );
}

#[test]
fn spots_that_hold_one_word_refuse_several_items() {
    let schema = Schema {
        batch: true,
        ..lines()
    };
    for words in [
        &["<{} wc -l"][..],
        &["echo {} > {}.txt"],
        &["gzip -c {} > out/{/.}.gz"],
        &["X={} cmd"],
        &["X=$D/{} cmd"],
        &["{} --version"],
        &["echo `cat > {}`"],
        &["sh", "-c", "cat > {}"],
        &["env", "X={}", "cmd"],
        &["{}", "arg"],
    ] {
        let error = parse_err(words, &schema);
        assert!(
            error.contains("several items per job"),
            "{words:?}: {error}"
        );
        // One item per job: the same templates are fine.
        Template::parse(&os(words), ShellMode::Auto, &lines()).unwrap();
    }
    // A position is one value: it may go anywhere a value may.
    Template::parse(&os(&["cat {1} > {2}"]), ShellMode::Auto, &schema).unwrap();
}

#[test]
fn positional_items_and_a_script_word() {
    let t = batch_template(
        &["echo", "{1}-{2}-{3}"],
        BatchOptions {
            exact: Some(3),
            ..BatchOptions::default()
        },
    );
    assert_eq!(args(&render(&t, &["a", "b"])), ["echo", "a-b-"]);
    let t = batch_template(&["sh", "-c", "echo {}", "_"], joined());
    assert_eq!(
        args(&render(&t, &["a b", "$x"])),
        ["sh", "-c", "echo 'a b' '$x'", "_"]
    );
}

/// An item of several sources with these values, as the combined reader
/// makes it (`raw` is the values joined by spaces).
fn combination(seq: u64, values: &[&str]) -> Item {
    use crate::item::{Combination, SourceValue};
    let combination = Combination {
        values: values
            .iter()
            .enumerate()
            .map(|(source, v)| SourceValue {
                raw: v.as_bytes().to_vec(),
                columns: None,
                source,
                line: seq,
            })
            .collect(),
        sources: std::sync::Arc::from(Vec::new()),
    };
    let mut item = item_with(
        ItemData::Combined(Box::new(combination)),
        values.join(" ").as_bytes(),
    );
    item.seq = seq;
    item
}

fn sources_template(words: &[&str], options: BatchOptions) -> Result<Template, TemplateError> {
    let spec = BatchSpec::from_options(&options).expect("a batch spec");
    let schema = Schema {
        batch: true,
        sources: 2,
        ..lines()
    };
    Template::parse(&os(words), ShellMode::Auto, &schema).and_then(|t| t.for_batches(&spec))
}

/// GNU parallel 20221122: `parallel -n 2 echo ::: a b ::: 1 2` runs
/// `echo a 1 a 2` (four arguments), `-X echo x{}y` runs
/// `echo xay x1y xay x2y`, `-N 2 echo {1}+{2}` runs `echo a+1`.
#[test]
fn each_value_of_a_combination_is_a_value_of_the_job() {
    let items = [combination(1, &["a b", "1"]), combination(2, &["a b", "2"])];
    let refs: Vec<&Item> = items.iter().collect();
    let t = sources_template(&["echo"], joined()).unwrap();
    let spec = t.render_batch(&refs, 1, 1).unwrap();
    assert_eq!(args(&spec), ["echo", "a b", "1", "a b", "2"]);
    let t = sources_template(&["echo", "x{}y"], context()).unwrap();
    let spec = t.render_batch(&refs, 1, 1).unwrap();
    assert_eq!(args(&spec), ["echo", "xa by", "x1y", "xa by", "x2y"]);
    let exact = BatchOptions {
        exact: Some(2),
        ..BatchOptions::default()
    };
    let t = sources_template(&["echo", "{1}+{2}+{4}+{5}"], exact).unwrap();
    let spec = t.render_batch(&refs, 1, 1).unwrap();
    assert_eq!(args(&spec), ["echo", "a b+1+2+"]);
    // Shell mode: each value quoted on its own.
    let t = sources_template(&["echo {} | cat"], joined()).unwrap();
    let spec = t.render_batch(&refs, 1, 1).unwrap();
    assert_eq!(line(&spec), "echo 'a b' '1' 'a b' '2' | cat");
    // The batcher's cost covers every value: never less than rendered.
    let t = sources_template(&["echo"], joined()).unwrap();
    let mut scratch = Vec::new();
    let cost = t.item_cost(&items[0], &mut scratch).unwrap();
    assert_eq!(
        (cost.chars, cost.args),
        ("a b".len() + 1 + "1".len() + 1, 2)
    );
}

#[test]
fn positions_of_each_combination_are_refused_in_a_batch() {
    for placeholder in ["{-1}", "{2.}", "{1/}"] {
        let err = sources_template(&["echo", placeholder], joined())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not supported when jobs run several items of several input sources"),
            "{placeholder}: {err}"
        );
    }
    // `{N}` is the job's Nth value; `{}` and its path forms are every value.
    for fine in ["{}", "{.}", "{/}"] {
        sources_template(&["echo", fine], joined()).unwrap();
    }
}

//! The crate's modules import each other in one direction only: this test
//! reads every file under `src/`, collects the module paths it names
//! (`use crate::...`, `crate::x::` and `super::` paths, `use` groups), and
//! fails on an import cycle, naming the files and paths that close it.
//!
//! Edges are compared at the level where two modules part: a reference from
//! `engine::threads` to `dispatch::feed` is an edge `engine -> dispatch`
//! among the crate's top-level modules, and one from `dispatch::reader` to
//! `dispatch::feed` is an edge `reader -> feed` inside `dispatch`. A module
//! naming its own ancestor or descendant (`super::Work`, `threads::run`) is
//! how a folder is built, not a cycle. Comments and string literals are
//! skipped, so doc links do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Cycles that issue 9 has yet to break, each by the part that owns its
/// modules, named by the modules in the loop. Each must still exist: the
/// test fails once one is broken, until its line goes (and on any other).
const KNOWN: &[&str] = &[];

#[test]
fn modules_import_each_other_in_one_direction() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = source_files(&src);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut references = Vec::new();
    for (module, path) in &files {
        let text = fs::read_to_string(path).expect("read a source file");
        let shown = path
            .strip_prefix(&src)
            .unwrap_or(path)
            .display()
            .to_string();
        for (from, target) in references_in(&text, module) {
            references.push(Reference {
                from,
                to: resolve(&target, &modules),
                text: target.join("::"),
                file: shown.clone(),
            });
        }
    }
    let found = cycles(&references);
    let new: Vec<&str> = found
        .iter()
        .filter(|cycle| !KNOWN.contains(&cycle.members.as_str()))
        .map(|cycle| cycle.report.as_str())
        .collect();
    let gone: Vec<&str> = KNOWN
        .iter()
        .copied()
        .filter(|known| !found.iter().any(|cycle| cycle.members == *known))
        .collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "module import cycles:\n{}\nknown cycles that are gone (or changed; take them off `KNOWN`): {gone:?}",
        new.join("\n")
    );
}

#[test]
fn the_scanner_finds_references_and_cycles() {
    let module = |s: &str| -> Vec<String> {
        s.split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let text = r#"
        //! See [`crate::ignored::InDocs`].
        use crate::a::{self, b::{C, D}};
        use super::sibling::Thing;
        fn f() { let s = "crate::ignored::InString"; crate::x::y(); let c = '{'; }
        mod inner { use super::super::up; }
    "#;
    let found: BTreeSet<String> = references_in(text, &module("p::q"))
        .into_iter()
        .map(|(from, to)| format!("{} -> {}", from.join("::"), to.join("::")))
        .collect();
    let expected: BTreeSet<String> = [
        "p::q -> a",
        "p::q -> a::b::C",
        "p::q -> a::b::D",
        "p::q -> p::sibling::Thing",
        "p::q -> x::y",
        "p::q::inner -> p::up",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(found, expected);

    let reference = |from: &str, to: &str| Reference {
        from: module(from),
        to: module(to),
        text: to.to_owned(),
        file: format!("{from}.rs"),
    };
    let tree = [
        reference("a", "b"),
        reference("b::x", "c::y"),
        reference("c", "a::z"),
        reference("d::one", "d::two"),
        reference("d::two", "d::one"),
        reference("d", "d::one"),
        reference("d::one", "d"),
    ];
    let found = cycles(&tree);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].members, "a, b, c");
    assert!(
        found[0].report.starts_with("a -> b -> c -> a ("),
        "{}",
        found[0].report
    );
    assert_eq!(found[1].members, "inside d: one, two");
    assert!(
        found[1].report.starts_with("inside d: one -> two -> one ("),
        "{}",
        found[1].report
    );
    assert!(cycles(&tree[..2]).is_empty());
}

/// One path a file names: the module it is named in, the module it names.
struct Reference {
    from: Vec<String>,
    to: Vec<String>,
    text: String,
    file: String,
}

/// Every `.rs` file under `src` with its module path (`lib.rs` is the root;
/// `main.rs` is the binary, another crate).
fn source_files(src: &Path) -> Vec<(Vec<String>, PathBuf)> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("read a source directory") {
            let path = entry.expect("read a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let mut module: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            match module.last().map(String::as_str) {
                Some("main") if module.len() == 1 => continue,
                Some("lib" | "mod") => {
                    module.pop();
                }
                _ => {}
            }
            files.push((module, path));
        }
    }
    files.sort();
    files
}

/// The module `target` names: its longest prefix that is a module.
fn resolve(target: &[String], modules: &BTreeSet<Vec<String>>) -> Vec<String> {
    (0..=target.len())
        .rev()
        .map(|n| target[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Path,
    Open,
    Close,
    Comma,
    Other,
}

/// The tokens of `text` that paths are made of, with comments, strings and
/// character literals left out.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == 'r' && (at(i + 1) == '"' || (at(i + 1) == '#' && at(i + 2) != '[')) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(Token::Ident("r".to_owned()));
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'), or a lifetime.
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A byte string or character (b"...", b'x'); a raw byte string
            // (br"...") goes on as a raw string from its `r`.
            if word == "b" && (at(i) == '"' || at(i) == '\'') {
                continue;
            }
            if word == "br" && (at(i) == '"' || at(i) == '#') {
                i -= 1;
                continue;
            }
            out.push(Token::Ident(word));
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token::Path);
            i += 2;
        } else {
            out.push(match c {
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                _ => Token::Other,
            });
            i += 1;
        }
    }
    out
}

/// The paths `text` (the file of `module`) names through `crate::`,
/// `super::` and `self::`, each with the module it is named in (inline
/// `mod name { ... }` blocks included).
fn references_in(text: &str, module: &[String]) -> Vec<(Vec<String>, Vec<String>)> {
    let tokens = tokens(text);
    let mut found = Vec::new();
    // Inline modules open at these brace depths.
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let here = || -> Vec<String> {
            let mut m = module.to_vec();
            m.extend(inline.iter().map(|(_, name)| name.clone()));
            m
        };
        match &tokens[i] {
            Token::Open => depth += 1,
            Token::Close => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
            }
            Token::Ident(word) if word == "mod" && tokens.get(i + 2) == Some(&Token::Open) => {
                if let Some(Token::Ident(name)) = tokens.get(i + 1) {
                    inline.push((depth, name.clone()));
                }
            }
            Token::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && tokens.get(i + 1) == Some(&Token::Path)
                    // `a::crate` is not a path start; `::` before means
                    // this is a later segment.
                    && (i == 0 || tokens[i - 1] != Token::Path) =>
            {
                let current = here();
                let mut base = match word.as_str() {
                    "crate" => Vec::new(),
                    "super" => current[..current.len().saturating_sub(1)].to_vec(),
                    _ => current.clone(),
                };
                i += 2;
                while let (Some(Token::Ident(w)), Some(Token::Path)) =
                    (tokens.get(i), tokens.get(i + 1))
                {
                    if w != "super" {
                        break;
                    }
                    base.pop();
                    i += 2;
                }
                let (paths, next) = path_tree(&tokens, i, base);
                for path in paths {
                    found.push((current.clone(), path));
                }
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Reads the rest of a path from `tokens[i]` (after `prefix::`): segments,
/// and `{...}` groups of further paths. Returns the full paths and where
/// reading stopped.
fn path_tree(tokens: &[Token], mut i: usize, mut prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    loop {
        match tokens.get(i) {
            Some(Token::Ident(word)) => {
                if word != "self" {
                    prefix.push(word.clone());
                }
                i += 1;
                if tokens.get(i) == Some(&Token::Path) {
                    i += 1;
                    continue;
                }
                return (vec![prefix], i);
            }
            Some(Token::Open) => {
                let mut paths = Vec::new();
                i += 1;
                loop {
                    match tokens.get(i) {
                        Some(Token::Close) => return (paths, i + 1),
                        Some(Token::Comma) => i += 1,
                        None => return (paths, i),
                        Some(_) => {
                            let (inner, next) = path_tree(tokens, i, prefix.clone());
                            paths.extend(inner);
                            // Skip what the path does not consume (`as x`, `*`).
                            i = next;
                            while !matches!(tokens.get(i), Some(Token::Comma | Token::Close) | None)
                            {
                                i += 1;
                            }
                        }
                    }
                }
            }
            // `*`, or something that ends the path.
            _ => return (vec![prefix], i),
        }
    }
}

/// A set of modules that import each other in a loop.
struct Cycle {
    /// The modules, sorted, `, `-separated (`inside dispatch: a, b` below
    /// the crate root).
    members: String,
    /// The shortest loop through the first of them, with the references
    /// that close it.
    report: String,
}

/// Cycles among the references, at every level of the module tree.
fn cycles(references: &[Reference]) -> Vec<Cycle> {
    // (parent, from child, to child) -> the references behind the edge.
    let mut edges: BTreeMap<(Vec<String>, String, String), Vec<&Reference>> = BTreeMap::new();
    for reference in references {
        let shared = reference
            .from
            .iter()
            .zip(&reference.to)
            .take_while(|(a, b)| a == b)
            .count();
        // An ancestor or a descendant: not an edge.
        if shared == reference.from.len() || shared == reference.to.len() {
            continue;
        }
        edges
            .entry((
                reference.from[..shared].to_vec(),
                reference.from[shared].clone(),
                reference.to[shared].clone(),
            ))
            .or_default()
            .push(reference);
    }
    let parents: BTreeSet<&Vec<String>> = edges.keys().map(|(p, _, _)| p).collect();
    let mut found = Vec::new();
    for parent in parents {
        let graph: BTreeMap<&str, Vec<&str>> = edges.keys().filter(|(p, _, _)| p == parent).fold(
            BTreeMap::new(),
            |mut graph, (_, from, to)| {
                graph
                    .entry(from.as_str())
                    .or_insert_with(Vec::new)
                    .push(to.as_str());
                graph
            },
        );
        for component in strongly_connected(&graph) {
            let cycle = cycle_through(&graph, &component);
            let names = cycle.join(" -> ");
            let evidence: Vec<String> = cycle
                .windows(2)
                .map(|pair| {
                    let key = (parent.clone(), pair[0].to_owned(), pair[1].to_owned());
                    let reference = edges[&key][0];
                    format!("{} names {}", reference.file, reference.text)
                })
                .collect();
            let place = if parent.is_empty() {
                String::new()
            } else {
                format!("inside {}: ", parent.join("::"))
            };
            let members: Vec<&str> = component.iter().copied().collect();
            let members = format!("{place}{}", members.join(", "));
            let report = format!(
                "{place}{names} ({}) [all in the loop: {members}]",
                evidence.join("; ")
            );
            found.push(Cycle { members, report });
        }
    }
    found
}

/// The strongly connected components of more than one module (Tarjan).
fn strongly_connected<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<BTreeSet<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<BTreeSet<&'a str>>,
    }
    fn visit<'a>(node: &'a str, graph: &BTreeMap<&'a str, Vec<&'a str>>, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(node, n);
        s.low.insert(node, n);
        s.stack.push(node);
        s.on_stack.insert(node);
        for &next in graph.get(node).into_iter().flatten() {
            if !s.index.contains_key(next) {
                visit(next, graph, s);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = BTreeSet::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                component.insert(top);
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                s.components.push(component);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for &node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(node, graph, &mut state);
        }
    }
    state.components.sort();
    state.components
}

/// One cycle through the component's first module, staying inside it
/// (breadth first, so the shortest), from that module back to itself.
fn cycle_through<'a>(
    graph: &BTreeMap<&'a str, Vec<&'a str>>,
    component: &BTreeSet<&'a str>,
) -> Vec<&'a str> {
    let start = *component.iter().next().expect("a non-empty component");
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in graph.get(node).into_iter().flatten() {
            if !component.contains(next) {
                continue;
            }
            if next == start {
                let mut cycle = vec![start, node];
                let mut at = node;
                while at != start {
                    at = came_from[at];
                    cycle.push(at);
                }
                cycle.reverse();
                return cycle;
            }
            if !came_from.contains_key(next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    vec![start]
}

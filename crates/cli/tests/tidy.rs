//! Tidy checks of the workspace's sources, as rust-analyzer has: every `.rs` file opens with a
//! `//!` module doc; ARCHITECTURE.md's list of `unsafe` places is the code's; no source file is
//! over 800 lines unless its module doc says why (`Long file:`); and within each crate no two
//! files import each other, directly or around a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under a folder (skipping build output).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "corpus" | "artifacts" | ".git") {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in ["crates", "fuzz", "python"] {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = path
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, text)
        })
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(path, _)| path)
        .collect();
    assert!(missing.is_empty(), "no `//!` module doc: {missing:?}");
}

#[test]
fn long_files_say_why() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| text.lines().count() > 800)
        .filter(|(_, text)| {
            !text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .any(|l| l.contains("Long file:"))
        })
        .map(|(path, text)| format!("{path} ({} lines)", text.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "over 800 lines without a `Long file:` reason in the module doc: {long:?}"
    );
}

/// The code of a file before its test module, without comments.
fn code_of(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_unsafe_places_are_the_ones_architecture_md_lists() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    // The bullet and its continuation lines.
    let line: String = architecture
        .lines()
        .skip_while(|l| !l.starts_with("- `unsafe` lives only in"))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with("  "))
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        !line.is_empty(),
        "ARCHITECTURE.md lists where `unsafe` lives"
    );
    let listed: BTreeSet<String> = line
        .split('`')
        .filter(|word| word.ends_with(".rs") && !word.starts_with("crates/"))
        .map(str::to_string)
        .collect();
    let found: BTreeSet<String> = sources()
        .into_iter()
        .filter(|(path, _)| path.starts_with("crates/") && path.contains("/src/"))
        .filter(|(_, text)| {
            let code = text
                .lines()
                .map(|line| match line.find("//") {
                    Some(at) => &line[..at],
                    None => line,
                })
                .collect::<Vec<_>>()
                .join("\n");
            ["unsafe {", "unsafe fn", "unsafe impl", "unsafe extern"]
                .iter()
                .any(|w| code.contains(w))
        })
        .map(|(path, _)| path.trim_start_matches("crates/").replace("/src/", "/"))
        .collect();
    assert_eq!(
        found, listed,
        "files with `unsafe` against ARCHITECTURE.md's list"
    );
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into its paths (`a::b`, `a::c::d`, `a::c::e`).
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or("").trim().to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// Module paths (`kernel::direct`) of a crate's `src` files.
fn modules_of(src: &Path) -> BTreeMap<String, String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let relative = file
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let module = relative
            .trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .replace('/', "::");
        let module = if matches!(module.as_str(), "lib" | "main") {
            String::new()
        } else {
            module
        };
        modules.insert(module, std::fs::read_to_string(&file).unwrap());
    }
    modules
}

/// The module a path names: its longest prefix that is a module of the crate.
fn resolve(path: &str, modules: &BTreeMap<String, String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|m| modules.contains_key(m))
}

/// Which modules each module of a crate refers to (`crate::`, `super::` and child paths).
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    // What the root re-exports: `crate::Name` is an import of the module that defines `Name`.
    let mut reexports: BTreeMap<String, String> = BTreeMap::new();
    if let Some(root_text) = modules.get("") {
        for statement in code_of(root_text).split(';') {
            if let Some(body) = statement.trim().strip_prefix("pub use ") {
                for path in expand(body) {
                    let name = path.rsplit("::").next().unwrap_or("").to_string();
                    if let Some(module) = resolve(&path, modules) {
                        reexports.insert(name, module);
                    }
                }
            }
        }
    }
    let mut graph = BTreeMap::new();
    for (module, text) in modules {
        let code = code_of(text);
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p).to_string();
        let mut paths = Vec::new();
        for statement in code.split(';') {
            // A `use super::` inside an inline module (indented) names this file's module, not
            // its parent: only the file's own top-level `use`s are read for `super::`.
            let nested = statement.trim_start_matches('\n').starts_with(' ');
            let statement = statement.trim();
            if nested && statement.contains("super::") {
                continue;
            }
            let body = statement
                .strip_prefix("pub use ")
                .or_else(|| statement.strip_prefix("pub(crate) use "))
                .or_else(|| statement.strip_prefix("use "));
            if let Some(body) = body {
                paths.extend(expand(body));
            }
        }
        // Paths written inline: `crate::a::b` or a child module's `child::x`.
        for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            if word.contains("::") && !word.starts_with("super::") {
                paths.push(word.to_string());
            }
        }
        let mut targets = BTreeSet::new();
        for path in paths {
            let absolute = if let Some(rest) = path.strip_prefix("crate::") {
                let first = rest.split("::").next().unwrap_or("");
                match reexports.get(first) {
                    Some(module) if !modules.contains_key(first) => module.clone(),
                    _ => rest.to_string(),
                }
            } else if let Some(rest) = path.strip_prefix("super::") {
                if parent.is_empty() {
                    rest.to_string()
                } else {
                    format!("{parent}::{rest}")
                }
            } else if module.is_empty() {
                path.clone()
            } else {
                format!("{module}::{path}")
            };
            if let Some(target) = resolve(&absolute, modules) {
                if &target != module {
                    targets.insert(target);
                }
            } else if absolute.is_empty() || path.starts_with("crate::") {
                // `crate::Item`: the crate root.
                if !module.is_empty() {
                    targets.insert(String::new());
                }
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// A circle of imports, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    let mut found = stack[at..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                Some(_) => {}
                None => {
                    if let Some(found) = visit(next, graph, state, stack) {
                        return Some(found);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            if let Some(found) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(found);
            }
        }
    }
    None
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    crates.sort();
    assert!(crates.len() >= 6, "{crates:?}");
    let mut circles = Vec::new();
    for src in crates {
        let graph = imports(&modules_of(&src));
        if let Some(found) = circle(&graph) {
            let names: Vec<String> = found
                .iter()
                .map(|m| {
                    if m.is_empty() {
                        "<root>".into()
                    } else {
                        m.clone()
                    }
                })
                .collect();
            let name = src
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            circles.push(format!("{name}: {}", names.join(" -> ")));
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn the_circle_finder_finds_circles() {
    let modules: BTreeMap<String, String> = [
        (
            "".to_string(),
            "mod a; mod b; fn main() { a::run(); }".to_string(),
        ),
        ("a".to_string(), "use crate::b::thing;".to_string()),
        (
            "b".to_string(),
            "pub fn thing() { crate::a::other() }".to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let found = circle(&imports(&modules)).expect("a -> b -> a");
    assert!(found.contains(&"a".to_string()) && found.contains(&"b".to_string()));
    let acyclic: BTreeMap<String, String> = [
        (
            "".to_string(),
            "mod a; mod b; fn main() { a::run(); }".to_string(),
        ),
        ("a".to_string(), "use crate::b::{thing, other};".to_string()),
        (
            "b".to_string(),
            "pub fn thing() {}\n#[cfg(test)]\nmod tests { use crate::a; }".to_string(),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(circle(&imports(&acyclic)), None);
}

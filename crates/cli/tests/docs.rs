//! Every example of README.md and docs/*.md, run or checked against the binary: command lines
//! run as written (simulations capped at a few hundred steps so the suite stays fast), sweep
//! files planned, the usage synopsis against each command's `--help`, the `plan --json` sketch
//! against real output, and the store layout against a committed task. Examples run elsewhere
//! (the SQL of docs/tables.md by tests/parquet/check_tables.py, the Python by the package's
//! tests, Slurm by tests/slurm/run.sh) are listed with where; an example this file does not know
//! fails it, so a new one gets a check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod common;
use common::check;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fenced block of a Markdown file.
#[derive(Debug)]
struct Block {
    file: String,
    line: usize,
    lang: String,
    text: String,
}

/// The fenced blocks of README.md and docs/*.md, in file order.
fn blocks() -> Vec<Block> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut open: Option<(usize, String, String)> = None;
        for (i, line) in text.lines().enumerate() {
            match (&mut open, line.trim_start().strip_prefix("```")) {
                (None, Some(lang)) => open = Some((i + 1, lang.trim().to_string(), String::new())),
                (Some(_), Some(_)) => {
                    let (line, lang, text) = open.take().unwrap();
                    out.push(Block {
                        file: file.clone(),
                        line,
                        lang,
                        text,
                    });
                }
                (Some((_, _, body)), None) => {
                    body.push_str(line);
                    body.push('\n');
                }
                (None, None) => {}
            }
        }
        assert!(open.is_none(), "{file}: a fenced block is never closed");
    }
    out
}

/// The command lines of a shell block: continuations joined, trailing comments dropped.
fn command_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.split("  #").next().unwrap().trim_end();
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    lines.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                current.clear();
            }
        }
    }
    lines
}

/// Runs a `sphereflow ...` example line in `dir` and checks it succeeds; returns stdout.
fn run_example(block: &Block, line: &str, extra: &[&str], dir: &Path) -> String {
    let mut args: Vec<&str> = line
        .strip_prefix("sphereflow ")
        .unwrap_or_else(|| {
            panic!(
                "{}:{}: not a sphereflow line: {line}",
                block.file, block.line
            )
        })
        .split(' ')
        .collect();
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = check(&args, dir);
    assert_eq!(
        code, 0,
        "{}:{}: `{line}` (with {extra:?}) exited {code}:\n{stdout}\n{stderr}",
        block.file, block.line
    );
    stdout
}

/// Caps a simulation example so that it runs in the suite in a moment.
const CAP: [&str; 2] = ["--set", "stop.max_steps=300"];

/// A working folder holding a copy of the paper's sweep files at `sweeps/paper/`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let paper = dir.path().join("sweeps/paper");
    std::fs::create_dir_all(&paper).unwrap();
    for entry in std::fs::read_dir(root().join("sweeps/paper")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, paper.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// Plans a TOML example as a sweep file (`--profile` when it is a profile) and checks it is
/// accepted.
fn plan_toml(block: &Block, dir: &Path) {
    let path = dir.join(format!("example_{}.toml", block.line));
    let mut text = block.text.clone();
    let profile = text.trim_start().starts_with("[profile.quick]");
    if !text.contains("[sweep]") {
        text = format!("[sweep]\nname = \"example\"\n{text}");
    }
    std::fs::write(&path, text).unwrap();
    let file = path.to_string_lossy().into_owned();
    let mut args = vec!["plan", file.as_str(), "--json", "--store", "store"];
    if profile {
        args.extend(["--profile", "quick"]);
    }
    let (code, stdout, stderr) = check(&args, dir);
    assert_eq!(
        code, 0,
        "{}:{}: the example sweep is refused:\n{stdout}\n{stderr}",
        block.file, block.line
    );
}

/// Every key of a JSON value, at any depth.
fn keys(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// The quoted keys (`"name":`) of a JSON sketch with comments and ellipses.
fn sketch_keys(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for piece in text.split('"').collect::<Vec<_>>().windows(2) {
        if piece[1].trim_start().starts_with(':') && !piece[0].contains(' ') {
            out.insert(piece[0].to_string());
        }
    }
    out
}

/// The usage synopsis: every command exists and its `--help` names every option shown.
fn check_synopsis(block: &Block, dir: &Path) {
    for line in block.text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"sphereflow"), "{}: {line}", block.file);
        let command = words[1];
        let (code, help, stderr) = check(&[command, "--help"], dir);
        assert_eq!(code, 0, "`sphereflow {command} --help`: {stderr}");
        let options: Vec<String> = line
            .split(|c: char| c.is_whitespace() || "[]|".contains(c))
            .filter(|w| w.starts_with("--") || (w.starts_with('-') && w.len() == 2))
            .map(|w| w.split('=').next().unwrap().to_string())
            .collect();
        for option in options {
            assert!(
                help.contains(&option),
                "{}:{}: the synopsis gives `{command} {option}`, its --help does not:\n{help}",
                block.file,
                block.line
            );
        }
    }
}

/// docs/store.md's layout against a committed task: its files and summary keys.
fn check_store_layout(block: &Block, dir: &Path) {
    let sweep = dir.join("layout.toml");
    std::fs::write(
        &sweep,
        "[sweep]\nname = \"layout\"\n[model]\nparticles = 20\n[stop]\nmax_steps = 100\n",
    )
    .unwrap();
    let (code, _, stderr) = check(&["run", "layout.toml", "--store", "store"], dir);
    assert_eq!(code, 0, "{stderr}");
    let shard = std::fs::read_dir(dir.join("store/objects"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let object = std::fs::read_dir(shard).unwrap().next().unwrap().unwrap();
    let files: BTreeSet<String> = std::fs::read_dir(object.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let documented: BTreeSet<String> = block
        .text
        .split_whitespace()
        .filter(|w| {
            !w.contains('/') && !w.contains('"') && (w.ends_with(".json") || w.ends_with(".npy"))
        })
        .filter(|w| !w.starts_with("events"))
        .map(str::to_string)
        .collect();
    assert_eq!(files, documented, "{}:{}", block.file, block.line);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(object.path().join("summary.json")).unwrap())
            .unwrap();
    for key in [
        "spec",
        "summary",
        "runtime_s",
        "solver_rev",
        "provenance",
        "clusters",
        "frames",
    ] {
        assert!(block.text.contains(&format!("\"{key}\"")), "{key}");
        assert!(summary.get(key).is_some(), "summary.json lacks `{key}`");
    }
    let series: serde_json::Value =
        serde_json::from_slice(&std::fs::read(object.path().join("series.json")).unwrap()).unwrap();
    let row = &series[0];
    for key in ["step", "t", "energy", "n_clusters", "max_drift"] {
        assert!(row.get(key).is_some(), "series.json rows lack `{key}`");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("store/layout"))
            .unwrap()
            .trim(),
        "sphereflow/store/v1"
    );
}

#[test]
fn every_example_of_the_readme_and_docs_runs() {
    let dir = workdir();
    let d = dir.path();
    let mut handled = 0;
    for block in blocks() {
        let first = block.text.lines().next().unwrap_or("").trim().to_string();
        let here = format!("{}:{}", block.file, block.line);
        match (block.file.as_str(), block.lang.as_str()) {
            // The README's two commands are what CI runs: `cargo test --workspace` is this
            // suite; `reproduce` runs on small sweeps in cli.rs (reproduce_runs_analyzes_draws_
            // and_reports) and its quick profile is timed by bench/protocol.sh.
            ("README.md", "") if first.starts_with("cargo ") => {}
            ("README.md", "") if first.starts_with("sphereflow params [--json]") => {
                check_synopsis(&block, d)
            }
            ("README.md", "") if first.starts_with("sphereflow slurm") => {
                // Written, not submitted (tests/slurm/run.sh submits to a real Slurm), into a
                // store of this folder.
                let store = d.join("cluster_store").to_string_lossy().into_owned();
                for line in command_lines(&block.text) {
                    if line.starts_with("squeue") {
                        continue;
                    }
                    let line = line
                        .replace(" --submit", "")
                        .replace("/shared/sphereflow/store", &store);
                    let out = run_example(&block, &line, &[], d);
                    if line.starts_with("sphereflow slurm") {
                        assert!(out.contains("sbatch"), "{here}: {out}");
                        assert!(d.join("results/s1_beta/slurm").is_dir(), "{here}");
                    }
                }
            }
            ("README.md", "")
                if first.starts_with("sphereflow simulate")
                    || first.starts_with("sphereflow stationary") =>
            {
                // The certification examples run to their end (a few seconds each); the
                // simulations are capped.
                let extra: &[&str] = if block.text.contains("stationary") {
                    &[]
                } else {
                    &CAP
                };
                for line in command_lines(&block.text) {
                    let out = run_example(&block, &line, extra, d);
                    if line.contains("--json") {
                        let value: serde_json::Value = serde_json::from_str(&out)
                            .unwrap_or_else(|e| panic!("{here}: `{line}`: {e}\n{out}"));
                        assert!(value.is_object(), "{here}");
                    }
                }
            }
            (_, "toml") => plan_toml(&block, d),
            // Checked by tests/parquet/check_tables.py on tables laid out as `reproduce` writes
            // them.
            ("docs/tables.md", "sql") => {}
            // Run by the Python package's tests (python/tests/test_readme.py).
            ("README.md", "python") => {}
            ("docs/sweeps.md", "json") => {
                let (code, out, stderr) = check(
                    &[
                        "plan",
                        "sweeps/paper/s1_beta.toml",
                        "--json",
                        "--store",
                        "store",
                    ],
                    d,
                );
                assert_eq!(code, 0, "{stderr}");
                let mut real = BTreeSet::new();
                keys(&serde_json::from_str(&out).unwrap(), &mut real);
                let sketch = sketch_keys(&block.text);
                let missing: Vec<_> = sketch.difference(&real).collect();
                assert!(
                    missing.is_empty(),
                    "{here}: not in `plan --json`: {missing:?}"
                );
                assert!(sketch.len() >= 15, "{here}: {sketch:?}");
            }
            ("docs/sweeps.md", "") if first.starts_with("sweeps/mine.toml") => {
                // The two messages, each from a file that makes it.
                std::fs::create_dir_all(d.join("sweeps")).unwrap();
                let files = [
                    "[sweep]\nname = \"mine\"\n[model]\nparticles = 100\n\n[grid]\n\
                     model.beta = [10, -2]\n",
                    "[model]\nparticles = 100\nbta = 1\n",
                ];
                assert_eq!(block.text.lines().count(), files.len(), "{here}");
                for (message, text) in block.text.lines().zip(files) {
                    std::fs::write(d.join("sweeps/mine.toml"), text).unwrap();
                    let (code, _, stderr) = check(&["plan", "sweeps/mine.toml"], d);
                    assert_eq!(code, 2, "{here}: {stderr}");
                    assert_eq!(
                        stderr.trim(),
                        format!("error: {}", message.trim()),
                        "{here}: the documented message is not what `plan` says"
                    );
                }
            }
            ("docs/store.md", "") => check_store_layout(&block, d),
            // The id's definition is checked against an independent computation in the plan
            // crate's tests (task ids of known canonical texts).
            ("docs/task-id.md", "") if first.starts_with("task_id =") => {}
            _ => panic!(
                "{here}: an example this test does not know ({:?} block starting `{first}`): \
                 give it a check",
                block.lang
            ),
        }
        handled += 1;
    }
    assert!(handled >= 14, "only {handled} examples found");
}

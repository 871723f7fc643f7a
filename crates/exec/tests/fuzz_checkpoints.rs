//! Fuzzing checkpoints: a valid checkpoint with its numbers, lengths and fields changed is
//! refused, or resumed and finished without a panic and without a result the task could not
//! have (no atoms, steps past the cap).

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

#[path = "support/checkpoint_fuzzing.rs"]
mod checkpoint_fuzzing;

use checkpoint_fuzzing::{bench, check_checkpoint, valid_checkpoint, Bench};

/// Every number, array and object in a JSON value, depth first, by path.
fn places(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(path.clone());
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                places(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(key.clone());
                places(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(value: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(value, |v, key| match v {
        Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
        Value::Object(map) => map.get_mut(key).unwrap(),
        _ => unreachable!("a path into a leaf"),
    })
}

/// Replacements for one place of a checkpoint.
fn replacement(kind: u8) -> Value {
    match kind % 10 {
        0 => Value::Null,
        1 => serde_json::json!(0),
        2 => serde_json::json!(-1),
        3 => serde_json::json!(1e300),
        4 => serde_json::json!(u64::MAX),
        5 => serde_json::json!([]),
        6 => serde_json::json!(0.5),
        7 => serde_json::json!(1_000_000_000_000_000_000u64),
        8 => serde_json::json!([1.0, 0.0]),
        _ => serde_json::json!(3),
    }
}

fn shared() -> &'static (Bench, Value) {
    static SHARED: std::sync::OnceLock<(Bench, Value)> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let bench = bench();
        let valid = serde_json::from_slice(&valid_checkpoint(&bench, 20)).unwrap();
        (bench, valid)
    })
}

#[test]
fn a_valid_checkpoint_is_resumed() {
    let bench = bench();
    assert!(check_checkpoint(&bench, &valid_checkpoint(&bench, 20)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn changed_checkpoints_are_refused_or_resumed_safely(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<Option<usize>>(),
    ) {
        let (bench, valid) = shared();
        let mut checkpoint = valid.clone();
        for (place, kind) in edits {
            let mut all = Vec::new();
            places(&checkpoint, &mut Vec::new(), &mut all);
            let path = &all[place % all.len()];
            if path.is_empty() {
                continue;
            }
            *at(&mut checkpoint, path) = replacement(kind);
        }
        let mut bytes = serde_json::to_vec(&checkpoint).unwrap();
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        check_checkpoint(bench, &bytes);
    }
}

/// The corpus of bad checkpoints (`tests/data/bad_checkpoints/`, also the fuzz target's seeds),
/// written for the task of [`bench`]: every one is refused, the valid one resumed.
#[test]
fn the_bad_checkpoint_corpus_is_refused() {
    let bench = bench();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/bad_checkpoints");
    let mut count = 0;
    for entry in std::fs::read_dir(corpus).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let accepted = check_checkpoint(&bench, &std::fs::read(&path).unwrap());
        // The files carry the solver revision: a revision bump must update them (bar
        // another_revision.json) or they are refused for that reason alone.
        assert_eq!(accepted, name == "valid.json", "{name}");
        count += 1;
    }
    assert!(count >= 12, "{count} checkpoints");
}

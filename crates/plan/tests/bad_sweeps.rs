//! The corpus of bad sweep files (`tests/data/bad/`): each must be refused before anything
//! runs, with a message that names the place, checked against a snapshot.

use std::path::Path;

use sphereflow_plan::{Plan, PlanOptions, Sweep};

/// The error planning a sweep file gives, with the corpus folder written as `bad/`.
fn plan_error(path: &Path) -> String {
    let result = Sweep::read(path).and_then(|sweep| Plan::new(sweep, &PlanOptions::default()));
    let error = match result {
        Ok(plan) => panic!("{} planned {} tasks", path.display(), plan.tasks.len()),
        Err(error) => error.to_string(),
    };
    let folder = path.parent().unwrap().display().to_string();
    error.replace(&folder, "bad")
}

#[test]
fn every_bad_sweep_is_refused_with_its_place() {
    insta::glob!("../../../tests/data/bad", "*.toml", |path| {
        let error = plan_error(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Every message names the file; those about a key name it too.
        assert!(error.starts_with(&format!("bad/{name}")), "{error}");
        insta::assert_snapshot!(error);
    });
}

#[test]
fn the_corpus_is_large_enough() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/bad");
    let count = std::fs::read_dir(corpus)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert!(count >= 25, "{count} bad sweep files");
}

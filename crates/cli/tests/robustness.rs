//! Hostile and careless inputs and damaged stores, end to end through the binary: output
//! locations and option ranges are checked before any work; sweep names when the sweep is
//! read; a bad checkpoint is discarded and its task restarts; a store entry of the wrong kind
//! and a lost layout file are reported alike by every command, never waited on; a task larger
//! than the machine fails alone; `analyze` never writes tables from a store that holds none of
//! the sweep's tasks.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::check;

/// A sweep of two small tasks.
const TWO: &str = "[sweep]\nname = \"two\"\n[model]\nparticles = 12\n\
                   [stop]\nmax_steps = 40\ncheck_every = 5\n[grid]\ninit.seed = [1, 2]\n";

/// Runs the binary and checks it was refused as bad input (exit 2) within a few seconds,
/// with a message containing `expected`; returns stderr.
fn refused(args: &[&str], dir: &Path, expected: &str) -> String {
    let started = Instant::now();
    let (code, stdout, stderr) = check(args, dir);
    assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{args:?} took {:?} to refuse",
        started.elapsed()
    );
    stderr
}

/// The store's task ids of a sweep, as `status --json` lists them.
fn states(store: &str, sweep: &str, dir: &Path) -> Vec<(String, String, String)> {
    let (code, stdout, stderr) = check(&["status", sweep, "--store", store, "--json"], dir);
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    value["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap().to_string(),
                t["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn output_locations_are_checked_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a_file"), "").unwrap();
    std::fs::write(d.join("two.toml"), TWO).unwrap();
    // A folder that cannot exist (its parent is a file): refused before the run, not after.
    for command in ["simulate", "stationary", "meanfield"] {
        let stderr = refused(
            &[command, "--out", "a_file/sub/x.npy"],
            d,
            "--out a_file/sub/x.npy: a_file is a file, not a folder",
        );
        assert!(!stderr.contains("after"), "{stderr}");
    }
    refused(
        &["simulate", "--out", "."],
        d,
        "--out .: the output is an .npy file",
    );
    let (code, _, stderr) = check(&["run", "two.toml", "--store", "s"], d);
    assert_eq!(code, 0, "{stderr}");
    for command in ["analyze", "figures"] {
        refused(
            &[command, "two.toml", "--store", "s", "--out", "a_file/x"],
            d,
            "--out a_file/x: a_file is a file, not a folder",
        );
    }
    // Missing folders under a writable one are created when the file is written.
    let (code, _, stderr) = check(
        &[
            "simulate",
            "--set",
            "stop.max_steps=5",
            "--out",
            "missing/dir/x.npy",
        ],
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(d.join("missing/dir/x.npy").exists());
}

#[test]
fn a_store_that_is_a_file_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("two.toml"), TWO).unwrap();
    for args in [
        &["run", "two.toml", "--store", "two.toml"][..],
        &["worker", "two.toml", "--store", "two.toml"],
        &["status", "two.toml", "--store", "two.toml"],
        &["plan", "two.toml", "--store", "two.toml"],
        &["analyze", "two.toml", "--store", "two.toml"],
        &["gc", "--store", "two.toml"],
    ] {
        refused(args, d, "--store two.toml: is a file, not a folder");
    }
    refused(
        &["run", "two.toml", "--store", "two.toml/s"],
        d,
        "--store two.toml/s: two.toml is a file, not a folder",
    );
    // The sweep file is untouched and nothing else was made.
    assert_eq!(std::fs::read_to_string(d.join("two.toml")).unwrap(), TWO);
    let entries: Vec<_> = std::fs::read_dir(d).unwrap().collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

#[test]
fn durations_and_counts_are_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("two.toml"), TWO).unwrap();
    for (flag, value, expected) in [
        (
            "--checkpoint-every",
            "1e300",
            "--checkpoint-every: must be between 0.001 and 86400 seconds, got 1e300",
        ),
        ("--lease-ttl", "1e300", "--lease-ttl: must be between 1 and"),
        (
            "--lease-ttl",
            "1e-9",
            "--lease-ttl: must be between 1 and 604800 seconds, got 1e-9",
        ),
        ("-j", "100000", "-j: must be between 1 and 1024, got 100000"),
        ("-j", "0", "-j: must be between 1 and 1024, got 0"),
        ("--max-failures", "0", "--max-failures: must be at least 1"),
    ] {
        for command in ["run", "worker"] {
            refused(
                &[command, "two.toml", "--store", "s", flag, value],
                d,
                expected,
            );
        }
    }
    refused(
        &[
            "slurm",
            "two.toml",
            "--store",
            "s",
            "--array",
            "2",
            "--lease-ttl",
            "1e-9",
        ],
        d,
        "--lease-ttl: must be between 1",
    );
    refused(
        &["reproduce", "-j", "100000"],
        d,
        "-j: must be between 1 and 1024",
    );
    // Nothing was written: no store, no results.
    assert!(!d.join("s").exists() && !d.join("results").exists());
    for (flag, value) in [
        ("--theorem-beta-min", "nan"),
        ("--beta-min", "inf"),
        ("--replicates", "0"),
        ("--replicates", "100000000"),
    ] {
        refused(&["analyze", "two.toml", flag, value], d, flag);
    }
}

#[test]
fn a_parameter_set_twice_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &["simulate", "--set", "model.beta=1", "--set", "model.beta=2"],
        dir.path(),
        "--set model.beta=2: `model.beta` is already set by --set model.beta=1",
    );
}

#[test]
fn sweep_names_are_checked_when_the_sweep_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let body = "[model]\nparticles = 12\n[stop]\nmax_steps = 20\n";
    for (file, expected) in [
        ("...toml", "the sweep is named after the file (\"..\")"),
        (
            "my sweep.toml",
            "the sweep is named after the file (\"my sweep\")",
        ),
    ] {
        std::fs::write(d.join(file), body).unwrap();
        for command in ["plan", "run"] {
            let stderr = refused(&[command, file], d, expected);
            assert!(stderr.contains(&format!("error: {file}: ")), "{stderr}");
        }
        // Its own name makes any file name usable.
        let named = format!("[sweep]\nname = \"fine\"\n{body}");
        std::fs::write(d.join(file), named).unwrap();
        let (code, _, stderr) = check(&["plan", file], d);
        assert_eq!(code, 0, "{file}: {stderr}");
    }
    let long = format!("[sweep]\nname = \"{}\"\n{body}", "a".repeat(300));
    std::fs::write(d.join("long.toml"), long).unwrap();
    refused(&["run", "long.toml"], d, "a name of 300 characters");
    // Refused before anything ran: no store, no results.
    assert!(!d.join("results").exists());
}

#[test]
fn huge_numbers_are_shown_in_exponent_form() {
    let dir = tempfile::tempdir().unwrap();
    for set in ["model.beta=-1e300", "stop.t_max=-1e-300"] {
        let stderr = refused(&["simulate", "--set", set], dir.path(), "e");
        assert!(stderr.len() < 300, "{stderr}");
    }
    let stderr = refused(
        &[
            "simulate",
            "--set",
            "model.beta=1e300",
            "--set",
            "model.kernel=paper",
        ],
        dir.path(),
        "β = 1e300 > 700",
    );
    assert!(stderr.len() < 300, "{stderr}");
}

/// The task ids of `TWO`, after running it into `store`.
fn ran(store: &str, d: &Path) -> Vec<String> {
    std::fs::write(d.join("two.toml"), TWO).unwrap();
    let (code, _, stderr) = check(&["run", "two.toml", "--store", store], d);
    assert_eq!(code, 0, "{stderr}");
    states(store, "two.toml", d)
        .into_iter()
        .map(|(id, _, _)| id)
        .collect()
}

/// A checkpoint of a task of `TWO` at `step`, its state given as `(dim, positions, masses)`.
fn checkpoint(id: &str, step: u64, dim: usize, positions: &[f64], masses: &[f64]) -> String {
    serde_json::json!({
        "task_id": id,
        "solver_rev": checkpoint_revision(),
        "runtime_s": 0.1,
        "started": "2026-12-02T00:00:00Z",
        "simulation": {
            "state": {"dim": dim, "positions": positions, "masses": masses},
            "step": step, "rejected_steps": 0, "t": step as f64 * 0.1, "dt": 0.1,
            "last_check": null, "checks": 0, "recent_counts": [], "series": [],
            "frames": {"every": 1, "capacity": 24, "frames": [], "checks": []},
            "stopped": null, "settle": false,
        },
    })
    .to_string()
}

/// The solver revision the binary writes (read from a stored result).
fn checkpoint_revision() -> u64 {
    sphereflow_solver::SOLVER_REV.into()
}

#[test]
fn bad_checkpoints_are_discarded_and_their_tasks_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids = ran("s", d);
    let reference = common::results_of(&d.join("s"));
    let id = &ids[0];
    let unit = |n: usize| -> Vec<f64> { (0..n).flat_map(|_| [1.0, 0.0]).collect() };
    let equal = |n: usize| vec![1.0 / n as f64; n];
    let cases = [
        ("no atoms", checkpoint(id, 5, 2, &[], &[])),
        (
            "step beyond the cap",
            checkpoint(id, 1_000_000_000_000_000_000, 2, &unit(12), &equal(12)),
        ),
        (
            "truncated positions",
            checkpoint(id, 5, 2, &unit(12)[..23], &equal(12)),
        ),
        (
            "another dimension",
            checkpoint(id, 5, 3, &[1.0, 0.0, 0.0], &[1.0]),
        ),
        ("no masses", checkpoint(id, 5, 2, &unit(12), &[])),
        (
            "another task",
            checkpoint(&ids[1], 5, 2, &unit(12), &equal(12)),
        ),
        ("not JSON", "{\"task_id\": ".to_string()),
    ];
    for (case, text) in cases {
        let object = d.join("s/objects").join(&id[..2]).join(id);
        std::fs::remove_dir_all(&object).unwrap();
        std::fs::write(d.join(format!("s/checkpoints/{id}.json")), text).unwrap();
        let (code, stdout, stderr) = check(&["run", "two.toml", "--store", "s"], d);
        assert_eq!(code, 0, "{case}: {stdout}{stderr}");
        assert!(
            stdout.contains("checkpoint discarded") || stderr.contains("checkpoint discarded"),
            "{case}: {stdout}{stderr}"
        );
        // Recomputed from the beginning: the same bytes as the first run.
        assert_eq!(common::results_of(&d.join("s")), reference, "{case}");
        assert!(
            !d.join(format!("s/checkpoints/{id}.json")).exists(),
            "{case}"
        );
        let log = std::fs::read_to_string(d.join("s/events.jsonl")).unwrap();
        assert!(log.contains("\"event\":\"checkpoint_discarded\""), "{case}");
    }
}

#[test]
fn a_store_entry_of_the_wrong_kind_is_reported_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids = ran("s", d);
    let id = &ids[0];
    std::fs::remove_dir_all(d.join("s/objects").join(&id[..2]).join(id)).unwrap();
    std::fs::create_dir(d.join(format!("s/leases/{id}.lease"))).unwrap();
    let expected = format!("leases/{id}.lease is a folder, not a file");
    let listed = states("s", "two.toml", d);
    let blocked: Vec<_> = listed.iter().filter(|(_, s, _)| s == "blocked").collect();
    assert_eq!(blocked.len(), 1, "{listed:?}");
    assert!(blocked[0].2.contains(&expected), "{listed:?}");
    for command in ["run", "worker"] {
        let started = Instant::now();
        let (code, stdout, stderr) = check(&[command, "two.toml", "--store", "s"], d);
        assert_eq!(code, 1, "{command}: {stdout}{stderr}");
        assert!(stderr.contains(&expected), "{command}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{command} waited"
        );
    }
    let (code, stdout, _) = check(&["gc", "--store", "s"], d);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("left alone: {expected}")),
        "{stdout}"
    );
    assert!(d.join(format!("s/leases/{id}.lease")).is_dir());
    // Once removed, the task runs.
    std::fs::remove_dir(d.join(format!("s/leases/{id}.lease"))).unwrap();
    let (code, _, stderr) = check(&["run", "two.toml", "--store", "s"], d);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_store_without_its_layout_file_is_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ran("s", d);
    std::fs::remove_file(d.join("s/layout")).unwrap();
    for args in [
        &["status", "two.toml", "--store", "s"][..],
        &["run", "two.toml", "--store", "s"],
        &["worker", "two.toml", "--store", "s"],
        &["analyze", "two.toml", "--store", "s"],
        &["gc", "--store", "s"],
    ] {
        refused(args, d, "s/layout: missing, but the folder holds a store");
    }
    assert!(!d.join("s/layout").exists());
    // A folder in the layout's place is an error too, not an empty store.
    std::fs::create_dir(d.join("s/layout")).unwrap();
    let (code, _, stderr) = check(&["status", "two.toml", "--store", "s"], d);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("s/layout"), "{stderr}");
}

#[test]
fn analyze_refuses_a_store_without_the_sweeps_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ran("s", d);
    let (code, _, stderr) = check(&["analyze", "two.toml", "--store", "s"], d);
    assert_eq!(code, 0, "{stderr}");
    let tables = d.join("results/two/tasks.parquet");
    let good = std::fs::read(&tables).unwrap();
    refused(
        &["analyze", "two.toml", "--store", "mistyped"],
        d,
        "--store mistyped: no store there",
    );
    // A store, but of other sweeps.
    std::fs::write(d.join("other.toml"), TWO.replace("[1, 2]", "[3, 4]")).unwrap();
    let (code, _, stderr) = check(&["run", "other.toml", "--store", "o"], d);
    assert_eq!(code, 0, "{stderr}");
    refused(
        &["analyze", "two.toml", "--store", "o"],
        d,
        "no task of sweep two is in this store",
    );
    assert_eq!(std::fs::read(&tables).unwrap(), good);
}

#[test]
fn a_task_larger_than_the_machine_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 4 × 10^8 particles on S^1: within the 10^9-coordinate limit, far beyond any memory.
    let sweep = "[sweep]\nname = \"huge\"\n[stop]\nmax_steps = 20\n\
                 [grid]\nmodel.particles = [12, 400000000]\n";
    std::fs::write(d.join("huge.toml"), sweep).unwrap();
    let (code, stdout, stderr) = check(&["run", "huge.toml", "--store", "s", "-j", "2"], d);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("of memory, more than this machine's"),
        "{stderr}"
    );
    // The failure names the setting to change, as the single-task refusal below does.
    assert!(
        stderr.contains("model.particles: 400000000 particles"),
        "{stderr}"
    );
    let listed = states("s", "huge.toml", d);
    let names: Vec<&str> = listed.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(
        names.iter().filter(|s| **s == "cached").count(),
        1,
        "{listed:?}"
    );
    assert_eq!(
        names.iter().filter(|s| **s == "failed").count(),
        1,
        "{listed:?}"
    );
    refused(
        &["simulate", "--set", "model.particles=400000000"],
        d,
        "model.particles: 400000000 particles in dimension 2 need about",
    );
}

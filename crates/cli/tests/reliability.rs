//! The reliability suite, end to end through the binary: every kind of bad input is refused
//! with exit code 2, its place and nothing written; numerical extremes give finite results or a
//! failure naming the step, never a result holding NaN; damaged objects are found and
//! recomputed to the same bytes; concurrent runners compute each task once; SIGTERM interrupts
//! like Ctrl-C; SIGKILL at random moments never loses nor changes a committed result; a full
//! disk fails tasks cleanly (this one mounts a tmpfs, so the suite runs as root).
//!
//! Long file: the reliability suite is one target so its binary builds once and its cases share helpers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{
    check, finished_counts, finished_in, results_of, signal, sphereflow, wait_for_finished,
    write_npy, TWELVE,
};

/// Starts the binary in `dir` with its output discarded.
fn spawn(args: &[String], dir: &Path) -> Child {
    sphereflow()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary runs")
}

/// The arguments of `run` (or `worker`) on a sweep and a store, with frequent checkpoints.
fn run_args(command: &str, sweep: &str, store: &str, jobs: usize) -> Vec<String> {
    [
        command,
        sweep,
        "--store",
        store,
        "-j",
        &jobs.to_string(),
        "--checkpoint-every",
        "0.05",
    ]
    .map(String::from)
    .to_vec()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Every path under a folder with its size (0 for folders), relative to the folder.
fn tree(dir: &Path) -> BTreeSet<(PathBuf, u64)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let size = if meta.is_dir() {
                stack.push(path.clone());
                0
            } else {
                meta.len()
            };
            out.insert((path.strip_prefix(dir).unwrap().to_path_buf(), size));
        }
    }
    out
}

/// `status --json` of a sweep: task id → (state, detail).
fn states(sweep: &str, store: &str, dir: &Path) -> BTreeMap<String, (String, String)> {
    let (code, stdout, stderr) = check(&["status", sweep, "--store", store, "--json"], dir);
    assert_eq!(code, 0, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| {
            (
                task["id"].as_str().unwrap().to_string(),
                (
                    task["state"].as_str().unwrap().to_string(),
                    task["detail"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

/// The `.npy` inputs the bad sweeps point at.
fn write_bad_inputs(dir: &Path) {
    // Four columns: neither unit rows (2) nor [mass, x, y] rows (3) on S^1.
    write_npy(
        &dir.join("wide.npy"),
        &[2, 4],
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0],
    );
    write_npy(
        &dir.join("three.npy"),
        &[3, 2],
        &[1.0, 0.0, 0.0, 1.0, -1.0, 0.0],
    );
    write_npy(&dir.join("long.npy"), &[2, 2], &[1.0, 0.0, 0.6, 0.9]);
    write_npy(&dir.join("nan.npy"), &[2, 2], &[1.0, 0.0, f64::NAN, 0.0]);
    write_npy(&dir.join("flat.npy"), &[4], &[1.0, 0.0, 0.0, 1.0]);
    write_npy(&dir.join("none.npy"), &[0, 2], &[] as &[f64]);
    std::fs::write(dir.join("text.npy"), "1 0\n0 1\n").unwrap();
    let mut truncated = std::fs::read(dir.join("three.npy")).unwrap();
    truncated.truncate(truncated.len() - 20);
    std::fs::write(dir.join("truncated.npy"), truncated).unwrap();
    // A header claiming 2^40 rows over a few bytes of data.
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 2), }";
    let mut huge = b"\x93NUMPY\x01\x00".to_vec();
    let padded = format!("{header:<117}\n");
    huge.extend((padded.len() as u16).to_le_bytes());
    huge.extend(padded.as_bytes());
    huge.extend([0u8; 32]);
    std::fs::write(dir.join("huge.npy"), huge).unwrap();
    std::fs::create_dir(dir.join("folder.npy")).unwrap();
}

/// A bad sweep file: name, content (`None`: the file does not exist), what the message must
/// contain besides `error: <name>`.
type BadSweep = (&'static str, Option<Vec<u8>>, Vec<&'static str>);

/// The bad sweep files.
fn bad_sweeps() -> Vec<BadSweep> {
    let text = |s: &str| Some(s.as_bytes().to_vec());
    let mut garbage = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..600 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((x >> 16) as u8);
    }
    vec![
        (
            "malformed.toml",
            text("[model\nbeta = 1\n"),
            vec!["malformed.toml:1:"],
        ),
        (
            "unclosed.toml",
            text("[model]\nbeta = [1, 2\n"),
            vec!["unclosed.toml:"],
        ),
        ("garbage.toml", Some(garbage), vec!["not UTF-8"]),
        (
            "control.toml",
            text("[model]\nbeta = 1\u{0}\u{7}\n"),
            vec!["control.toml:2:"],
        ),
        ("empty.toml", text(""), vec!["empty"]),
        (
            "blank.toml",
            text("\n   \n# only a comment\n"),
            vec!["empty"],
        ),
        ("missing.toml", None, vec!["cannot read"]),
        (
            "int_overflow.toml",
            text("[model]\nparticles = 99999999999999999999\n"),
            vec!["int_overflow.toml:2:"],
        ),
        (
            "int_max.toml",
            text("[model]\nparticles = 9223372036854775807\n"),
            vec!["int_max.toml:2:", "model.particles"],
        ),
        (
            "dim_max.toml",
            text("[model]\ndim = 9223372036854775807\nparticles = 2\n"),
            vec!["dim_max.toml:2:", "model.dim"],
        ),
        (
            "width_max.toml",
            text("[perceptron]\nwidth = 9223372036854775807\n"),
            vec!["width_max.toml:2:", "perceptron.width"],
        ),
        (
            "float_overflow.toml",
            text("[model]\nbeta = 1e400\n"),
            vec!["float_overflow.toml:2:8"],
        ),
        (
            "nan.toml",
            text("[model]\nbeta = nan\n"),
            vec!["nan.toml:2:", "model.beta"],
        ),
        (
            "neg_inf.toml",
            text("[integrator]\ndt = -inf\n"),
            vec!["neg_inf.toml:2:", "integrator.dt"],
        ),
        (
            "inf_axis.toml",
            text("[grid]\nmodel.beta = [1, inf]\n"),
            vec!["inf_axis.toml:2:", "model.beta"],
        ),
        (
            "nan_linspace.toml",
            text("[grid]\nmodel.beta = { linspace = [1, nan, 3] }\n"),
            vec!["nan_linspace.toml:2:", "model.beta"],
        ),
        (
            "logspace_overflow.toml",
            text("[grid]\nmodel.beta = { logspace = [0, 400, 3] }\n"),
            vec!["logspace_overflow.toml:2:", "model.beta"],
        ),
        (
            "range_overflow.toml",
            text("[grid]\ninit.seed = { range = [-9223372036854775808, 9223372036854775807] }\n"),
            vec!["range_overflow.toml:2:", "init.seed"],
        ),
        (
            "linspace_huge.toml",
            text("[grid]\nmodel.beta = { linspace = [1, 2, 9223372036854775807] }\n"),
            vec!["linspace_huge.toml:2:", "model.beta"],
        ),
        (
            "negative_particles.toml",
            text("[model]\nparticles = -5\n"),
            vec!["negative_particles.toml:2:", "model.particles"],
        ),
        (
            "negative_dim.toml",
            text("[model]\ndim = -1\n"),
            vec!["negative_dim.toml:2:", "model.dim"],
        ),
        (
            "negative_steps.toml",
            text("[stop]\nmax_steps = -1\n"),
            vec!["negative_steps.toml:2:", "stop.max_steps"],
        ),
        (
            "negative_width.toml",
            text("[perceptron]\nwidth = -2\n"),
            vec!["negative_width.toml:2:", "perceptron.width"],
        ),
        (
            "negative_axis.toml",
            text("[grid]\nmodel.particles = [10, -3]\n"),
            vec!["negative_axis.toml:2:", "model.particles"],
        ),
        (
            "pos_missing.toml",
            text("[init]\npositions_file = \"nope.npy\"\n"),
            vec!["pos_missing.toml:2:", "init.positions_file", "nope.npy"],
        ),
        (
            "pos_folder.toml",
            text("[init]\npositions_file = \"folder.npy\"\n"),
            vec!["pos_folder.toml:2:", "init.positions_file", "folder.npy"],
        ),
        (
            "pos_wide.toml",
            text("[init]\npositions_file = \"wide.npy\"\n"),
            vec!["pos_wide.toml:2:", "init.positions_file", "4 columns"],
        ),
        (
            "pos_rows.toml",
            text("[model]\nparticles = 2\n[init]\npositions_file = \"three.npy\"\n"),
            vec!["pos_rows.toml:4:", "init.positions_file", "3 rows"],
        ),
        (
            "pos_not_unit.toml",
            text("[init]\npositions_file = \"long.npy\"\n"),
            vec![
                "pos_not_unit.toml:2:",
                "init.positions_file",
                "row 1 has norm",
            ],
        ),
        (
            "pos_nan.toml",
            text("[init]\npositions_file = \"nan.npy\"\n"),
            vec!["pos_nan.toml:2:", "init.positions_file", "non-finite"],
        ),
        (
            "pos_flat.toml",
            text("[init]\npositions_file = \"flat.npy\"\n"),
            vec!["pos_flat.toml:2:", "init.positions_file", "2-d"],
        ),
        (
            "pos_none.toml",
            text("[init]\npositions_file = \"none.npy\"\n"),
            vec!["pos_none.toml:2:", "init.positions_file"],
        ),
        (
            "pos_text.toml",
            text("[init]\npositions_file = \"text.npy\"\n"),
            vec!["pos_text.toml:2:", "init.positions_file", "not an .npy"],
        ),
        (
            "pos_truncated.toml",
            text("[init]\npositions_file = \"truncated.npy\"\n"),
            vec!["pos_truncated.toml:2:", "init.positions_file"],
        ),
        (
            "pos_huge.toml",
            text("[init]\npositions_file = \"huge.npy\"\n"),
            vec!["pos_huge.toml:2:", "init.positions_file"],
        ),
        (
            "pos_axis.toml",
            text("[grid]\ninit.positions_file = [\"three.npy\", \"text.npy\"]\n"),
            vec!["pos_axis.toml:2:", "init.positions_file", "not an .npy"],
        ),
    ]
}

#[test]
fn bad_input_exits_2_naming_the_place_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_bad_inputs(dir);
    let mut cases = bad_sweeps();
    // An unreadable file: root reads it anyway, so the case only runs when permissions hold.
    std::fs::write(dir.join("locked.npy"), "").unwrap();
    let locked = Command::new("chmod")
        .args(["000", "locked.npy"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(locked.success());
    if std::fs::read(dir.join("locked.npy")).is_err() {
        cases.push((
            "pos_locked.toml",
            Some(b"[init]\npositions_file = \"locked.npy\"\n".to_vec()),
            vec!["pos_locked.toml:2:", "init.positions_file", "locked.npy"],
        ));
    }
    for (name, content, _) in &cases {
        if let Some(bytes) = content {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let before = tree(dir);
    // Every case is tried before failing, so that one run shows every problem.
    let mut problems = Vec::new();
    for (name, _, expected) in &cases {
        let name: &str = name;
        for command in [
            vec!["plan", name, "--store", "store"],
            vec!["plan", name, "--store", "store", "--json"],
            vec!["run", name, "--store", "store", "-j", "1"],
            vec!["status", name, "--store", "store"],
            vec!["simulate", name, "--out", "out.npy"],
            vec!["stationary", name, "--out", "out.npy"],
        ] {
            let (code, stdout, stderr) = check(&command, dir);
            let mut missing: Vec<_> = expected.iter().filter(|p| !stderr.contains(*p)).collect();
            // `simulate` and `stationary` refuse a grid (at its place) before reading the files
            // of its axes.
            if stderr.contains(": this command runs one task") {
                missing.clear();
            }
            if code != 2 || !stderr.starts_with(&format!("error: {name}")) || !missing.is_empty() {
                problems.push(format!(
                    "{command:?}: exit {code}, missing {missing:?}: {stdout}{stderr}"
                ));
            }
            if tree(dir) != before {
                problems.push(format!("{command:?} wrote something"));
                std::fs::remove_dir_all(dir.join("store")).ok();
                std::fs::remove_file(dir.join("out.npy")).ok();
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The same mistakes given with --set name `--set` and the key.
    for (set, key) in [
        ("model.particles=99999999999999999999", "model.particles"),
        ("model.particles=9223372036854775807", "model.particles"),
        ("model.particles=-1", "model.particles"),
        ("model.beta=nan", "model.beta"),
        ("model.beta=-inf", "model.beta"),
        ("init.positions_file=text.npy", "init.positions_file"),
        ("init.positions_file=folder.npy", "init.positions_file"),
    ] {
        let (code, _, stderr) = check(&["simulate", "--set", set, "--out", "out.npy"], dir);
        assert_eq!(code, 2, "{set}: {stderr}");
        assert!(
            stderr.starts_with("error: --set") && stderr.contains(key),
            "{set}: {stderr}"
        );
        assert_eq!(tree(dir), before, "--set {set} wrote something");
    }
}

/// Every number of a JSON value, with `null` (what NaN and infinities become) as NaN.
fn numbers(value: &serde_json::Value, out: &mut Vec<f64>) {
    match value {
        serde_json::Value::Null => out.push(f64::NAN),
        serde_json::Value::Number(n) => out.push(n.as_f64().unwrap()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| numbers(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| numbers(v, out)),
        _ => {}
    }
}

fn npy_values(path: &Path) -> (Vec<u64>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

/// Checks that every number an object holds is finite (nulls in JSON count as NaN).
fn assert_object_finite(object: &Path) {
    for name in ["final.npy", "frames.npy"] {
        let (_, values) = npy_values(&object.join(name));
        assert!(
            values.iter().all(|v| v.is_finite()),
            "{}",
            object.join(name).display()
        );
    }
    let series: serde_json::Value =
        serde_json::from_slice(&std::fs::read(object.join("series.json")).unwrap()).unwrap();
    let mut all = Vec::new();
    numbers(&series, &mut all);
    assert!(all.iter().all(|v| v.is_finite()), "{}", object.display());
}

fn object_dir(store: &Path, id: &str) -> PathBuf {
    store.join("objects").join(&id[..2]).join(id)
}

#[test]
fn large_beta_stays_finite_and_overflows_are_refused_or_fail_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // β = 10^4 with the shifted kernel: finite summaries and unit-norm positions, on S^1 and S^2,
    // with every pair kernel that applies.
    for (dim, pair_kernel) in [("2", "direct"), ("2", "spectral"), ("3", "direct")] {
        let (code, stdout, stderr) = check(
            &[
                "simulate",
                "--set",
                "model.beta=1e4",
                "--set",
                &format!("model.dim={dim}"),
                "--set",
                "model.particles=64",
                "--set",
                "stop.max_steps=40",
                "--set",
                &format!("integrator.pair_kernel={pair_kernel}"),
                "--json",
                "--out",
                "final.npy",
            ],
            dir,
        );
        assert_eq!(code, 0, "d = {dim}, {pair_kernel}: {stderr}");
        let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let mut all = Vec::new();
        numbers(&summary, &mut all);
        assert!(all.iter().all(|v| v.is_finite()), "{stdout}");
        let (shape, values) = npy_values(&dir.join("final.npy"));
        assert_eq!(shape[0], 64);
        // Rows [mass, x_1 .. x_d]: equal masses, unit positions.
        for row in values.chunks(shape[1] as usize) {
            assert_eq!(row[0], 1.0 / 64.0, "{row:?}");
            let norm = row[1..].iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-12, "{row:?}");
        }
    }

    // The paper kernel past its overflow limit is refused when planning, naming the place.
    std::fs::write(
        dir.join("paper.toml"),
        "[model]\nkernel = \"paper\"\nparticles = 20\n[grid]\nmodel.beta = [1, 750]\n",
    )
    .unwrap();
    for command in ["plan", "run"] {
        let (code, _, stderr) = check(&[command, "paper.toml", "--store", "s"], dir);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("paper.toml:5:") && stderr.contains("model.beta"),
            "{stderr}"
        );
        assert!(!dir.join("s").exists());
    }

    // Time steps that blow up, at once and after some steps (with checkpoints on the way):
    // failed tasks naming the step, never an object nor a checkpoint left.
    std::fs::write(
        dir.join("blowup.toml"),
        "[model]\nparticles = 20\nbeta = 10\n[stop]\nmax_steps = 200\n\
         [grid]\nintegrator.dt = [0.05, 20, 1e6]\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(
        &[
            "run",
            "blowup.toml",
            "--store",
            "s",
            "--checkpoint-every",
            "0.001",
        ],
        dir,
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("diverged at step 0 "), "{stderr}");
    let states = states("blowup.toml", "s", dir);
    let store = dir.join("s");
    let mut failed_steps = Vec::new();
    for (id, (state, detail)) in &states {
        match state.as_str() {
            "failed" => {
                let step = detail
                    .split("diverged at step ")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|step| step.parse::<u64>().ok());
                failed_steps.push(step.unwrap_or_else(|| panic!("no step in {detail}")));
                assert!(!object_dir(&store, id).exists(), "object of a failed task");
                assert!(!store.join(format!("checkpoints/{id}.json")).exists());
            }
            "cached" => assert_object_finite(&object_dir(&store, id)),
            other => panic!("{id}: {other}"),
        }
    }
    failed_steps.sort();
    assert!(
        failed_steps.len() == 2 && failed_steps[0] == 0 && failed_steps[1] > 0,
        "{states:?}"
    );
}

/// Damages a file of an object in one of several ways.
fn damage(object: &Path, how: usize, other: &Path) -> &'static str {
    let path = |name: &str| object.join(name);
    let flip = |name: &str| {
        let mut bytes = std::fs::read(path(name)).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x04;
        std::fs::write(path(name), bytes).unwrap();
    };
    match how {
        0 => {
            let bytes = std::fs::read(path("final.npy")).unwrap();
            std::fs::write(path("final.npy"), &bytes[..bytes.len() / 2]).unwrap();
            "final.npy truncated"
        }
        1 => {
            flip("series.json");
            "a bit of series.json flipped"
        }
        2 => {
            std::fs::remove_file(path("frames.npy")).unwrap();
            "frames.npy deleted"
        }
        3 => {
            std::fs::remove_file(path("checksums.json")).unwrap();
            "checksums.json deleted"
        }
        4 => {
            std::fs::write(path("summary.json"), "\u{1}garbage{{{").unwrap();
            "garbage in summary.json"
        }
        5 => {
            std::fs::write(path("final.npy"), "").unwrap();
            "final.npy emptied"
        }
        6 => {
            let mut bytes = std::fs::read(path("frames.npy")).unwrap();
            bytes.extend([0u8; 8]);
            std::fs::write(path("frames.npy"), bytes).unwrap();
            "bytes appended to frames.npy"
        }
        7 => {
            flip("checksums.json");
            "a bit of checksums.json flipped"
        }
        8 => {
            // Another task's whole object, checksums included, in this one's folder.
            for file in std::fs::read_dir(other).unwrap() {
                let file = file.unwrap().path();
                std::fs::copy(&file, object.join(file.file_name().unwrap())).unwrap();
            }
            "another task's object in its folder"
        }
        _ => {
            std::fs::remove_file(path("series.json")).unwrap();
            std::fs::create_dir(path("series.json")).unwrap();
            "series.json replaced by a folder"
        }
    }
}

#[test]
fn damaged_objects_are_reported_corrupt_and_recomputed_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("twelve.toml"), TWELVE).unwrap();
    let (code, _, stderr) = check(&strs(&run_args("run", "twelve.toml", "s", 2)), dir);
    assert_eq!(code, 0, "{stderr}");
    let store = dir.join("s");
    let original = results_of(&store);
    assert_eq!(original.len(), 12 * 4);
    let ids: Vec<String> = states("twelve.toml", "s", dir).into_keys().collect();
    let other = object_dir(&store, &ids[11]);
    let mut damaged = BTreeMap::new();
    for (how, id) in ids.iter().take(10).enumerate() {
        damaged.insert(id.clone(), damage(&object_dir(&store, id), how, &other));
    }

    let states_now = states("twelve.toml", "s", dir);
    for (id, (state, detail)) in &states_now {
        match damaged.get(id) {
            Some(how) => assert_eq!(state, "corrupt", "{how}: {detail}"),
            None => assert_eq!(state, "cached", "{id}: {detail}"),
        }
    }
    let finished_before = finished_counts(&store);
    let (code, stdout, stderr) = check(&strs(&run_args("run", "twelve.toml", "s", 2)), dir);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("10 computed, 2 cached"), "{stdout}");
    let finished_after = finished_counts(&store);
    let recomputed: BTreeSet<&String> = finished_after
        .iter()
        .filter(|(id, n)| finished_before.get(*id) != Some(*n))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        recomputed,
        damaged.keys().collect::<BTreeSet<_>>(),
        "recomputed exactly the damaged objects"
    );
    assert_eq!(
        finished_after.values().sum::<usize>(),
        finished_before.values().sum::<usize>() + 10
    );
    assert!(results_of(&store) == original, "results differ");
    assert!(states("twelve.toml", "s", dir)
        .values()
        .all(|(state, _)| state == "cached"));
    eprintln!(
        "corruption: {} objects damaged and recomputed",
        damaged.len()
    );
}

/// A sweep of twenty-four tasks.
const TWENTY_FOUR: &str = "[sweep]\nname = \"shared\"\n[model]\nparticles = 120\n\
                           [integrator]\npair_kernel = \"direct\"\n\
                           [stop]\nmax_steps = 1500\ndrift_tol = 0\n\
                           [grid]\nmodel.beta = [1, 4, 9]\nperceptron.activation = [\"relu\", \"none\"]\n\
                           init.seed = [1, 2, 3, 4]\n";

#[test]
fn four_runs_and_two_workers_on_one_store_compute_each_task_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("shared.toml"), TWENTY_FOUR).unwrap();
    let (code, _, stderr) = check(&strs(&run_args("run", "shared.toml", "reference", 2)), dir);
    assert_eq!(code, 0, "{stderr}");
    let mut children: Vec<Child> = (0..6)
        .map(|i| {
            let command = if i < 4 { "run" } else { "worker" };
            spawn(&run_args(command, "shared.toml", "shared", 1), dir)
        })
        .collect();
    for child in &mut children {
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0));
    }
    let store = dir.join("shared");
    let counts = finished_counts(&store);
    assert_eq!(counts.len(), 24, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let states = states("shared.toml", "shared", dir);
    assert!(states.values().all(|(s, _)| s == "cached"), "{states:?}");
    assert!(results_of(&store) == results_of(&dir.join("reference")));
}

#[test]
fn sigterm_interrupts_like_ctrl_c_and_a_later_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("twelve.toml"), TWELVE).unwrap();
    let store = dir.join("s");
    for command in ["run", "worker"] {
        let child = sphereflow()
            .args(run_args(command, "twelve.toml", "s", 2))
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_finished(&store, finished_in(&store) + 1);
        signal(child.id(), "TERM");
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{command}: {stderr}");
        assert!(stderr.contains("resume with"), "{stderr}");
        let leases: Vec<_> = std::fs::read_dir(store.join("leases")).unwrap().collect();
        assert!(leases.is_empty(), "{command}: leases released: {leases:?}");
    }
    assert!(finished_in(&store) < 12, "interrupted before the end");
    let log_before = std::fs::read_to_string(store.join("events.jsonl")).unwrap();
    let (code, stdout, stderr) = check(&strs(&run_args("run", "twelve.toml", "s", 2)), dir);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("12 tasks"), "{stdout}");
    let counts = finished_counts(&store);
    assert_eq!(counts.len(), 12);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    // The interrupted tasks checkpointed: the last run resumed at least one of them.
    let log = std::fs::read_to_string(store.join("events.jsonl")).unwrap();
    let resumed = log[log_before.len()..]
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["event"] == "started" && e["resumed_from_step"].as_u64().is_some())
        .count();
    assert!(resumed >= 1, "{log}");
}

/// A sweep of forty-eight small tasks.
const FORTY_EIGHT: &str = "[sweep]\nname = \"many\"\n[model]\nparticles = 100\n\
                           [integrator]\npair_kernel = \"direct\"\n\
                           [stop]\nmax_steps = 30000\ndrift_tol = 0\n\
                           [grid]\nmodel.beta = [1, 2, 4, 8, 16, 32]\n\
                           init.seed = { range = [0, 8] }\n";

/// Whether process `pid` is writing a commit and whether it is writing a checkpoint (or another
/// atomic file) in a store: a commit's private folder, a temporary beside a checkpoint, a
/// failure record or the layout, named with its pid (orphans of killed runs do not count).
fn writing_in(store: &Path, pid: u32) -> (bool, bool) {
    let mine = format!(".{pid}.");
    let names = |folder: &str| -> Vec<String> {
        std::fs::read_dir(store.join(folder))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.contains(&mine))
                    .collect()
            })
            .unwrap_or_default()
    };
    (
        names("tmp").iter().any(|n| n.starts_with("commit.")),
        ["checkpoints", "failed", "."]
            .iter()
            .any(|f| names(f).iter().any(|n| n.ends_with(".tmp"))),
    )
}

/// A small seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn sigkill_at_random_moments_loses_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("many.toml"), FORTY_EIGHT).unwrap();
    let started = Instant::now();
    let (code, _, stderr) = check(&strs(&run_args("run", "many.toml", "reference", 2)), dir);
    assert_eq!(code, 0, "{stderr}");
    let uninterrupted = started.elapsed();
    let reference = results_of(&dir.join("reference"));
    assert_eq!(reference.len(), 48 * 4);

    let store = dir.join("killed");
    let mut rng = Rng(0x5eed_2026);
    let (mut kills, mut near_commit) = (0u64, 0);
    let (mut while_committing, mut while_checkpointing) = (0, 0);
    while kills < 30 {
        // Four kinds of moments in turn: a random delay after start, as soon as a commit is
        // seen in progress, a few milliseconds after a task finished, as soon as a checkpoint
        // is seen being written.
        let mut child = spawn(&run_args("run", "many.toml", "killed", 2), dir);
        match kills % 4 {
            0 => std::thread::sleep(Duration::from_millis(rng.below(250))),
            1 | 3 => {
                // As soon as a commit (or a checkpoint) of this runner is seen in progress, or
                // after a second.
                let aimed = |(commit, checkpoint): (bool, bool)| {
                    if kills % 4 == 1 {
                        commit
                    } else {
                        checkpoint
                    }
                };
                let waiting = Instant::now();
                while !aimed(writing_in(&store, child.id())) && waiting.elapsed().as_millis() < 1000
                {
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
            _ => {
                // Right after a task finishes, while the next ones run and commit.
                let target = finished_in(&store) + 1;
                let waiting = Instant::now();
                while finished_in(&store) < target && child.try_wait().unwrap().is_none() {
                    assert!(waiting.elapsed().as_secs() < 120, "no task finished");
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(rng.below(15)));
                near_commit += 1;
            }
        }
        let (commit, checkpoint) = writing_in(&store, child.id());
        while_committing += usize::from(commit);
        while_checkpointing += usize::from(checkpoint);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none(),
            "the sweep ended before kill {kills}: tasks are too short ({status})"
        );
        kills += 1;
        // Whatever the moment, every object there is whole.
        if store.join("layout").exists() {
            let states = states("many.toml", "killed", dir);
            assert!(
                states.values().all(|(s, _)| s != "corrupt"),
                "after kill {kills}: {states:?}"
            );
        }
    }
    assert!(
        while_committing >= 3,
        "only {while_committing} kills landed during a commit"
    );
    assert!(
        while_checkpointing >= 3,
        "only {while_checkpointing} kills landed during a checkpoint write"
    );
    let done_when_killed = finished_counts(&store).len();
    // One runner at a time, and the leases of killed ones are taken over at once: no runner
    // ever waited on a task held by a dead one (a lease left empty by a kill would do that).
    let log = std::fs::read_to_string(store.join("events.jsonl")).unwrap();
    assert!(!log.contains("\"event\":\"held_elsewhere\""), "{log}");
    let (code, stdout, stderr) = check(&strs(&run_args("run", "many.toml", "killed", 2)), dir);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("48 tasks"), "{stdout}");
    assert!(results_of(&store) == reference, "results differ");
    let (code, _, _) = check(&["gc", "--store", "killed"], dir);
    assert_eq!(code, 0);
    for folder in ["tmp", "leases", "checkpoints"] {
        let left: Vec<_> = std::fs::read_dir(store.join(folder)).unwrap().collect();
        assert!(left.is_empty(), "{folder}: {left:?}");
    }
    let stray: Vec<_> = tree(&store)
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    eprintln!(
        "crash torture: {kills} kills ({near_commit} right after a finished task, {} aimed at a commit, \
         {} at a checkpoint write), \
         {while_committing} while a commit was being written, \
         {while_checkpointing} while a checkpoint was; \
         {done_when_killed}/48 tasks done before the last resume; \
         uninterrupted run {:.1} s, test {:.1} s",
        kills.div_ceil(4),
        kills / 4,
        uninterrupted.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// A small tmpfs mounted for a test, unmounted when dropped.
struct Mounted(PathBuf);

impl Mounted {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it) at `path`; fails loudly when it
    /// cannot (the test needs root, as `.ci/run` runs it).
    fn tmpfs(path: &Path, size: &str) -> Mounted {
        std::fs::create_dir_all(path).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .expect("mount runs");
        assert!(
            output.status.success(),
            "the disk-full test mounts a small tmpfs and needs root: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Mounted(path.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount {}", self.0.display());
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_a_later_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("twelve.toml"), TWELVE).unwrap();
    let (code, _, stderr) = check(&strs(&run_args("run", "twelve.toml", "reference", 2)), dir);
    assert_eq!(code, 0, "{stderr}");
    let reference = results_of(&dir.join("reference"));

    // Room for a few of the twelve objects only: about five and a half objects' worth, part of
    // it taken by the running tasks' checkpoints (sized from the reference, so that the test
    // follows the size of the results).
    let object_bytes: u64 = tree(&dir.join("reference/objects"))
        .iter()
        .map(|(_, size)| size)
        .sum();
    let room_kib = object_bytes / 12 * 11 / 2 / 1024;
    let disk = Mounted::tmpfs(&dir.join("disk"), &format!("{room_kib}k"));
    let (code, stdout, stderr) =
        check(&strs(&run_args("run", "twelve.toml", "disk/store", 2)), dir);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let store = dir.join("disk/store");
    let states = states("twelve.toml", "disk/store", dir);
    assert!(
        states
            .values()
            .all(|(s, _)| s != "corrupt" && s != "running"),
        "{states:?}"
    );
    let partial = results_of(&store);
    assert!(
        !partial.is_empty() && partial.len() < reference.len(),
        "{} of {} files: the disk was not filled part way",
        partial.len(),
        reference.len()
    );
    for (file, bytes) in &partial {
        assert!(reference.get(file) == Some(bytes), "{file} differs");
    }

    // Once there is room again, the next run completes and gives the same results.
    disk.resize("16m");
    let mut args = run_args("run", "twelve.toml", "disk/store", 2);
    args.push("--retry-failed".into());
    let (code, _, stderr) = check(&strs(&args), dir);
    assert_eq!(code, 0, "{stderr}");
    assert!(results_of(&store) == reference, "results differ");
    let (code, _, _) = check(&["gc", "--store", "disk/store"], dir);
    assert_eq!(code, 0);
    for folder in ["tmp", "leases", "checkpoints", "failed"] {
        let left: Vec<_> = std::fs::read_dir(store.join(folder)).unwrap().collect();
        assert!(left.is_empty(), "{folder}: {left:?}");
    }
    eprintln!(
        "disk full: {} of 12 objects committed on a disk of {room_kib} KiB",
        partial.len() / 4
    );
}

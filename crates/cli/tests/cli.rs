//! End-to-end tests of the `sphereflow` binary.
//!
//! Long file: one test target for the binary's commands (ripgrep's layout), so they build once.

use std::process::Command;

mod common;
use common::{
    check, finished_counts, finished_in, results_of, signal, sphereflow, wait_for_finished, TWELVE,
};

#[test]
fn simulate_prints_a_json_summary_and_writes_positions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("task.toml"),
        "[model]\nparticles = 60\nbeta = 1\n[stop]\nmax_steps = 20000\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(
        &[
            "simulate",
            "task.toml",
            "--set",
            "model.regime=ascent",
            "--json",
            "--out",
            "final.npy",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "n_clusters",
        "n_heavy",
        "max_cluster_mass",
        "max_window_mass",
        "energy_initial",
        "energy_final",
        "steps",
        "t_final",
        "stop_reason",
        "max_drift",
        "runtime_s",
    ] {
        assert!(summary.get(key).is_some(), "missing {key} in {stdout}");
    }
    // Ascent: the energy grows and everything gathers in one cluster.
    assert!(summary["energy_final"].as_f64() > summary["energy_initial"].as_f64());
    assert_eq!(summary["n_clusters"], 1);
    // Rows [mass, x, y], as the store's final.npy.
    let bytes = std::fs::read(dir.path().join("final.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[60, 3]);
    let values: Vec<f64> = npy.into_vec().unwrap();
    for row in values.chunks(3) {
        assert!((row[0] - 1.0 / 60.0).abs() < 1e-15);
        assert!((row[1].hypot(row[2]) - 1.0).abs() < 1e-12);
    }
}

/// A sweep file's grid point, picked by `--set`s of every axis, is the task the sweep runs there
/// (the same end state as the file's values written out as `--set`s); an axis left unpinned is
/// an input error naming it and its line, for `simulate`, `stationary` and `meanfield` alike.
#[test]
fn one_task_commands_take_a_point_of_a_sweeps_grid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("grid.toml"),
        "[model]\nparticles = 40\n[stop]\nmax_steps = 3000\n[grid]\nmodel.beta = [1, 3]\n\
         perceptron.activation = [\"relu\", \"gelu\"]\n",
    )
    .unwrap();
    let point = [
        "--set",
        "model.beta=3",
        "--set",
        "perceptron.activation=gelu",
    ];
    let mut picked = vec!["simulate", "grid.toml", "--json", "--out", "picked.npy"];
    picked.extend(point);
    let (code, stdout, stderr) = check(&picked, dir.path());
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut written = vec![
        "simulate",
        "--set",
        "model.particles=40",
        "--set",
        "stop.max_steps=3000",
        "--json",
        "--out",
        "written.npy",
    ];
    written.extend(point);
    let (code, stdout, stderr) = check(&written, dir.path());
    assert_eq!(code, 0, "{stderr}");
    let expected: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in ["steps", "n_clusters", "energy_final", "stop_reason"] {
        assert_eq!(summary[key], expected[key], "{key}");
    }
    let (_, picked) = read_npy(&dir.path().join("picked.npy"));
    let (_, written) = read_npy(&dir.path().join("written.npy"));
    assert_eq!(picked.len(), 40 * 3);
    for (a, b) in picked.iter().zip(&written) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    for command in ["simulate", "stationary", "meanfield"] {
        let (code, stdout, stderr) = check(
            &[
                command,
                "grid.toml",
                "--set",
                "model.beta=3",
                "--out",
                "x.npy",
            ],
            dir.path(),
        );
        assert_eq!(code, 2, "{command}: {stdout}{stderr}");
        assert!(
            stderr.starts_with("error: grid.toml:7:")
                && stderr.contains("the sweep has axes (perceptron.activation)")
                && stderr.contains("--set perceptron.activation=relu"),
            "{command}: {stderr}"
        );
        assert!(
            !dir.path().join("x.npy").exists(),
            "{command} wrote its output"
        );
    }
}

/// `(shape, values)` of an `.npy` file.
fn read_npy(path: &std::path::Path) -> (Vec<u64>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

#[test]
fn state_files_keep_masses_through_simulate_stationary_and_positions_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Merging particles makes unequal masses: `--out` keeps them.
    let merged = [
        "--set",
        "model.particles=80",
        "--set",
        "model.beta=4",
        "--set",
        "measure.merge_tol=1e-3",
        "--set",
        "stop.max_steps=3000",
    ];
    let (code, stdout, stderr) = check(
        &[&["simulate"], &merged[..], &["--json", "--out", "a.npy"]].concat(),
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let atoms = summary["n_atoms"].as_u64().unwrap();
    let (shape, values) = read_npy(&d.join("a.npy"));
    assert_eq!(shape, [atoms, 3]);
    let masses: Vec<f64> = values.chunks(3).map(|row| row[0]).collect();
    assert!(
        (masses.iter().sum::<f64>() - 1.0).abs() < 1e-12,
        "{masses:?}"
    );
    assert!(
        atoms < 80 && masses.iter().any(|m| (m - masses[0]).abs() > 1e-12),
        "not merged: {masses:?}"
    );

    // The same file starts a run (its rows and masses) and is certified by `stationary`.
    let from_file = [
        "--set",
        "model.beta=4",
        "--set",
        "init.positions_file=a.npy",
        "--set",
        "stop.max_steps=1",
    ];
    let (code, _, stderr) = check(
        &[&["simulate"], &from_file[..], &["--out", "b.npy"]].concat(),
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    let (shape, after) = read_npy(&d.join("b.npy"));
    assert_eq!(shape, [atoms, 3]);
    for (before, after) in values.chunks(3).zip(after.chunks(3)) {
        assert!((before[0] - after[0]).abs() < 1e-14, "masses kept");
    }
    let (code, stdout, stderr) = check(
        &[
            "stationary",
            "--set",
            "model.beta=4",
            "--from",
            "a.npy",
            "--json",
            "--out",
            "c.npy",
        ],
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    let certificate: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (shape, _) = read_npy(&d.join("c.npy"));
    assert_eq!(shape[0], certificate["n_atoms"].as_u64().unwrap());
    assert_eq!(shape[1], 3);

    // Plain unit rows still read, as particles of equal mass; other widths are refused.
    write_npy(&d.join("unit.npy"), 2, 2, &[1.0, 0.0, 0.0, 1.0]);
    let (code, _, stderr) = check(
        &[
            "simulate",
            "--set",
            "init.positions_file=unit.npy",
            "--set",
            "stop.max_steps=1",
            "--out",
            "u.npy",
        ],
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    let (_, unit) = read_npy(&d.join("u.npy"));
    assert_eq!((unit[0], unit[3]), (0.5, 0.5));
    write_npy(&d.join("heavy.npy"), 2, 3, &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    let (code, _, stderr) = check(&["simulate", "--set", "init.positions_file=heavy.npy"], d);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("init.positions_file") && stderr.contains("row 0 has mass 0"),
        "{stderr}"
    );
}

#[test]
fn bad_values_exit_2_naming_the_parameter_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            vec!["--set", "model.beta=-3"],
            "invalid value for `model.beta`: must be > 0",
        ),
        (vec!["--set", "model.bta=3"], "did you mean `model.beta`?"),
        (
            vec!["--set", "model.kernel=paper", "--set", "model.beta=800"],
            "model.beta",
        ),
        (
            vec!["--set", "integrator.method=leapfrog"],
            "integrator.method",
        ),
    ] {
        let mut full = vec!["simulate", "--out", "x.npy"];
        full.extend(args);
        let (code, _, stderr) = check(&full, dir.path());
        assert_eq!(code, 2, "{full:?}: {stderr}");
        assert!(stderr.contains(expected), "{full:?}: {stderr}");
    }
    std::fs::write(dir.path().join("bad.toml"), "[model]\nbeta = \n").unwrap();
    let (code, _, stderr) = check(&["simulate", "bad.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.toml:2"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing written"
    );
}

#[test]
fn a_diverging_time_step_fails_with_exit_1_naming_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = check(
        &[
            "simulate",
            "--set",
            "model.particles=10",
            "--set",
            "integrator.dt=1e6",
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("diverged at step 0"), "{stderr}");
}

#[test]
fn params_lists_every_parameter_with_its_default() {
    let (code, stdout, _) = check(&["params"], std::path::Path::new("."));
    assert_eq!(code, 0);
    assert!(stdout.contains("model.beta"));
    assert!(stdout.contains("200000"));
    // The header and one row per parameter, then after a blank line the state files' layout.
    let table: Vec<&str> = stdout.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(table.len(), 1 + sphereflow_plan::SCHEMA.len());
    assert!(stdout.contains("[mass, x_1 .. x_d]"), "{stdout}");
    let (code, stdout, _) = check(&["params", "--json"], std::path::Path::new("."));
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let parameters = value["parameters"].as_array().unwrap();
    assert_eq!(parameters.len(), sphereflow_plan::SCHEMA.len());
    let beta = parameters
        .iter()
        .find(|p| p["path"] == "model.beta")
        .unwrap();
    assert_eq!(beta["type"], "float");
    assert!(beta["doc"].as_str().is_some_and(|d| !d.is_empty()));
}

fn write_npy(path: &std::path::Path, rows: u64, cols: u64, values: &[f64]) {
    use npyz::WriterBuilder;
    let mut file = std::fs::File::create(path).unwrap();
    let mut writer = npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(&[rows, cols])
        .writer(&mut file)
        .begin_nd()
        .unwrap();
    writer.extend(values.iter().copied()).unwrap();
    writer.finish().unwrap();
}

#[test]
fn positions_and_weights_come_from_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    // Two antipodal particles and no perceptron force (zero output weights): nothing moves.
    write_npy(&dir.path().join("x0.npy"), 2, 2, &[1.0, 0.0, -1.0, 0.0]);
    write_npy(
        &dir.path().join("w.npy"),
        2,
        3,
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    );
    std::fs::write(
        dir.path().join("task.toml"),
        "[init]\npositions_file = \"x0.npy\"\n[perceptron]\nweights_file = \"w.npy\"\n\
         [stop]\nmax_steps = 50\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(
        &["simulate", "task.toml", "--json", "--out", "x1.npy"],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["n_atoms"], 2);
    let bytes = std::fs::read(dir.path().join("x1.npy")).unwrap();
    let values: Vec<f64> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
    let expected = [0.5, 1.0, 0.0, 0.5, -1.0, 0.0];
    for (v, e) in values.iter().zip(expected) {
        assert!((v - e).abs() < 1e-12, "{values:?}");
    }
    // A file of the wrong shape or with non-unit rows is refused, naming the key.
    write_npy(&dir.path().join("bad.npy"), 2, 2, &[2.0, 0.0, -1.0, 0.0]);
    let (code, _, stderr) = check(
        &["simulate", "--set", "init.positions_file=bad.npy"],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("init.positions_file") && stderr.contains("row 0 has norm 2"),
        "{stderr}"
    );
    write_npy(&dir.path().join("wide.npy"), 1, 4, &[1.0, 0.0, 0.0, 0.0]);
    let (code, _, stderr) = check(
        &["simulate", "--set", "init.positions_file=wide.npy"],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("4 columns, but model.dim = 2: expected 2 (unit rows) or 3"),
        "{stderr}"
    );
}

/// The workspace root (sweeps/ and tests/data/ live there).
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn plan_lists_tasks_axes_and_counts_as_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("grid.toml"),
        "[sweep]\nname = \"g\"\n[model]\nparticles = 50\n[grid]\nmodel.beta = [1, 5, 5.0]\n\
         init.seed = { range = [0, 2] }\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(&["plan", "grid.toml", "--json"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning:") && stderr.contains("repeat an earlier task"));
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["sweep"], "g");
    assert_eq!(plan["n_tasks"], 4);
    assert_eq!(plan["combinations"], 6);
    assert_eq!(plan["duplicates"], 2);
    assert_eq!(plan["axes"][0]["paths"][0], "model.beta");
    assert_eq!(plan["axes"][1]["size"], 2);
    assert_eq!(plan["counts"]["pending"], 4);
    let tasks = plan["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 4);
    assert_eq!(tasks[0]["id"].as_str().unwrap().len(), 64);
    assert_eq!(tasks[3]["coordinates"]["init.seed"], 1);
    // Nothing is written by planning.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn plan_refuses_bad_sweeps_with_exit_2_and_their_place() {
    let corpus = root().join("tests/data/bad");
    for name in [
        "unknown_key.toml",
        "bad_axis_element.toml",
        "too_large.toml",
    ] {
        let (code, stdout, stderr) = check(&["plan", name], &corpus);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.starts_with(&format!("error: {name}")), "{stderr}");
    }
    let (code, _, stderr) = check(&["plan", "too_large.toml", "--yes", "--json"], &corpus);
    assert_eq!(code, 0, "{stderr}");
}

/// The S^2 β and many-seed sweeps merge particles that meet (`measure.merge_tol`): at the
/// distance they use, a run stops at the same step, for the same reason, with the same clusters
/// and energy as without merging, and costs its atoms, not its particles.
#[test]
fn the_paper_sweeps_merge_only_particles_that_have_met() {
    let dir = tempfile::tempdir().unwrap();
    for (sweep, beta, draw) in [("s2_beta", "7", "111"), ("many_seeds", "3", "777")] {
        let text =
            std::fs::read_to_string(root().join(format!("sweeps/paper/{sweep}.toml"))).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let merge_tol = table["measure"]["merge_tol"].as_float().unwrap();
        assert!(
            merge_tol > 0.0 && merge_tol <= 1e-12,
            "{sweep}: {merge_tol}"
        );
        let model = &table["model"];
        let (dim, attention, regime) = (
            model["dim"].as_integer().unwrap().to_string(),
            model["attention"].as_str().unwrap(),
            model["regime"].as_str().unwrap(),
        );
        let run = |merge: f64| {
            let sets = [
                format!("model.dim={dim}"),
                format!("model.attention={attention}"),
                format!("model.regime={regime}"),
                "model.particles=120".to_string(),
                format!("model.beta={beta}"),
                "perceptron.activation=relu".to_string(),
                format!("perceptron.seed={draw}"),
                "init.seed=42".to_string(),
                format!("measure.merge_tol={merge:e}"),
            ];
            let mut args = vec!["simulate".to_string(), "--json".to_string()];
            for set in sets {
                args.push("--set".to_string());
                args.push(set);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, stdout, stderr) = check(&args, dir.path());
            assert_eq!(code, 0, "{stderr}");
            serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
        };
        let (plain, merged) = (run(0.0), run(merge_tol));
        assert_eq!(plain["stop_reason"], "converged", "{sweep}: {plain}");
        for key in ["stop_reason", "steps", "n_clusters", "n_heavy"] {
            assert_eq!(plain[key], merged[key], "{sweep}: {key}");
        }
        for key in ["energy_final", "max_cluster_mass"] {
            let (a, b) = (plain[key].as_f64().unwrap(), merged[key].as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{sweep}: {key} {a} {b}"
            );
        }
        assert_eq!(plain["n_atoms"], 120);
        let atoms = merged["n_atoms"].as_u64().unwrap();
        assert!(atoms <= 40, "{sweep}: {atoms} atoms of 120 particles");
    }
}

#[test]
fn every_paper_sweep_plans_cleanly() {
    let folder = root().join("sweeps/paper");
    let mut planned = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let (code, stdout, stderr) = check(&["plan", path.to_str().unwrap(), "--json"], &folder);
        assert_eq!(code, 0, "{}: {stderr}", path.display());
        assert!(stderr.is_empty(), "{}: {stderr}", path.display());
        let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(plan["n_tasks"].as_u64().unwrap() >= 1);
        // Every paper sweep says which figure it feeds.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("Feeds"), "{}", path.display());
        planned += 1;
    }
    assert!(planned >= 5);
}

#[test]
fn a_sweep_killed_mid_run_resumes_to_the_uninterrupted_results() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("twelve.toml"), TWELVE).unwrap();
    let run_args = |store: &str| {
        vec![
            "run".to_string(),
            "twelve.toml".into(),
            "--store".into(),
            store.into(),
            "-j".into(),
            "2".into(),
            "--checkpoint-every".into(),
            "0.1".into(),
        ]
    };
    let (code, _, stderr) = check(
        &run_args("reference")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");

    // Kill it twice at different moments, then let it finish.
    // Kill it twice, each time once one more task has finished (mid-sweep whatever the speed),
    // the second time after a further delay so some kills land between commits.
    for delay in [0, 150] {
        let done_before = finished_in(&dir.path().join("killed"));
        let mut child = sphereflow()
            .args(run_args("killed"))
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for_finished(&dir.path().join("killed"), done_before + 1);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let killed = dir.path().join("killed");
    assert!(
        finished_counts(&killed).len() < 12,
        "the kills landed before the end"
    );
    let (code, stdout, stderr) = check(
        &run_args("killed")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("12 tasks"), "{stdout}");
    let reference = results_of(&dir.path().join("reference"));
    assert_eq!(reference.len(), 12 * 4);
    assert!(results_of(&killed) == reference, "results differ");

    // A second run is all cache hits; gc leaves no temporary or lease behind.
    let (code, stdout, _) = check(
        &run_args("killed")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        dir.path(),
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("0 computed, 12 cached"), "{stdout}");
    let (code, _, _) = check(&["gc", "--store", "killed"], dir.path());
    assert_eq!(code, 0);
    for folder in ["tmp", "leases", "checkpoints"] {
        let left: Vec<_> = std::fs::read_dir(killed.join(folder)).unwrap().collect();
        assert!(left.is_empty(), "{folder}: {left:?}");
    }
}

#[test]
fn two_runners_on_one_store_compute_each_task_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("twelve.toml"), TWELVE).unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            sphereflow()
                .args(["run", "twelve.toml", "--store", "shared", "-j", "1"])
                .current_dir(dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let counts = finished_counts(&dir.path().join("shared"));
    assert_eq!(counts.len(), 12);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let (code, stdout, _) = check(
        &["status", "twelve.toml", "--store", "shared", "--json"],
        dir.path(),
    );
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["counts"]["cached"], 12, "{stdout}");
    assert_eq!(status["counts"]["corrupt"], 0);
    // `plan` reads the same states from the store.
    let (code, stdout, _) = check(
        &["plan", "twelve.toml", "--store", "shared", "--json"],
        dir.path(),
    );
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["counts"]["cached"], 12, "{stdout}");
    assert_eq!(plan["tasks"][0]["state"], "cached");
}

#[test]
fn failed_tasks_give_exit_1_and_interrupts_give_130() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("diverge.toml"),
        "[model]\nparticles = 20\nbeta = 10\n[stop]\nmax_steps = 100\n\
         [grid]\nintegrator.dt = [0.1, 50]\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(&["run", "diverge.toml", "--store", "s"], dir.path());
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("failed") && stderr.contains("step"),
        "{stderr}"
    );
    let (_, stdout, _) = check(&["status", "diverge.toml", "--store", "s"], dir.path());
    assert!(
        stdout.contains("1 cached") && stdout.contains("1 failed"),
        "{stdout}"
    );

    // SIGINT: running tasks checkpoint, exit 130, and a later run resumes.
    std::fs::write(dir.path().join("twelve.toml"), TWELVE).unwrap();
    let child = sphereflow()
        .args(["run", "twelve.toml", "--store", "s", "-j", "2"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_finished(
        &dir.path().join("s"),
        finished_in(&dir.path().join("s")) + 1,
    );
    signal(child.id(), "INT");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("resume with `sphereflow run twelve.toml"),
        "{stderr}"
    );
    let leases: Vec<_> = std::fs::read_dir(dir.path().join("s/leases"))
        .unwrap()
        .collect();
    assert!(leases.is_empty(), "leases released: {leases:?}");
    let (code, _, stderr) = check(&["run", "twelve.toml", "--store", "s"], dir.path());
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn reproduce_runs_analyzes_draws_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sweeps = dir.path().join("sweeps");
    std::fs::create_dir(&sweeps).unwrap();
    // The paper's sweeps with a tiny quick profile.
    for name in [
        "s1_beta",
        "s2_beta",
        "side_by_side",
        "perceptron_scale",
        "many_seeds",
        "bound",
        "null_ascent",
        "meanfield_limit",
        "meanfield_atoms",
    ] {
        let text =
            std::fs::read_to_string(root().join(format!("sweeps/paper/{name}.toml"))).unwrap();
        let base = text.split("[profile.quick]").next().unwrap();
        let mut quick =
            String::from("[profile.quick]\nmodel.particles = 24\nstop.max_steps = 400\n");
        if name == "many_seeds" {
            // Runs that converge, and two perceptron draws: fitted draw by draw, the sqrt β
            // row fails and names its tasks.
            quick = String::from(
                "[profile.quick]\nmodel.particles = 24\nstop.max_steps = 7000\n\
                 init.seed = [42, 43]\nperceptron.seed = [777, 779]\n",
            );
        }
        if name == "bound" {
            quick.push_str("init.seed = [42]\nperceptron.seed = [777]\n");
        }
        if name == "null_ascent" {
            quick.push_str("model.beta = [5]\ninit.seed = [0]\n");
        }
        if name.starts_with("meanfield") {
            quick = String::from(
                "[profile.quick]\nmodel.particles = [100, 1000]\ninit.seed = [0, 1]\n\
                 meanfield.cells = 256\nmeanfield.t_end = 2\nstop.t_max = 2\n",
            );
        }
        std::fs::write(
            sweeps.join(format!("{name}.toml")),
            format!("{base}{quick}"),
        )
        .unwrap();
    }
    let args = [
        "reproduce",
        "--sweeps",
        "sweeps",
        "--store",
        "store",
        "--out",
        "paper",
    ];
    let (code, stdout, stderr) = check(&args, dir.path());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report = std::fs::read_to_string(dir.path().join("paper/report.md")).unwrap();
    assert!(
        report.contains("| claim | hypotheses | tested | not tested | measured | verdict |"),
        "{report}"
    );
    // Every end state the report names is copied beside it, equal to the store's; nothing
    // else is in `states/`.
    let named: std::collections::BTreeSet<String> = report
        .split('`')
        .filter(|piece| piece.starts_with("states/") && piece.ends_with(".npy"))
        .map(str::to_string)
        .collect();
    let copied: std::collections::BTreeSet<String> =
        match std::fs::read_dir(dir.path().join("paper/states")) {
            Ok(entries) => entries
                .map(|e| format!("states/{}", e.unwrap().file_name().to_string_lossy()))
                .collect(),
            Err(_) => Default::default(),
        };
    assert_eq!(named, copied);
    assert!(!named.is_empty(), "no task behind a \"fails\": {report}");
    for state in &named {
        let id = &state["states/".len()..state.len() - ".npy".len()];
        let original = dir
            .path()
            .join(format!("store/objects/{}/{id}/final.npy", &id[..2]));
        assert_eq!(
            std::fs::read(dir.path().join("paper").join(state)).unwrap(),
            std::fs::read(original).unwrap(),
            "{state}"
        );
    }
    assert!(
        report.contains("sqrt β") && report.contains("0.5742"),
        "{report}"
    );
    for figure in [
        "fig1_s1_final",
        "fig1_side_by_side",
        "fig1_s1_evolution",
        "fig2_s2_final",
        "fig3_trajectories",
        "fig4_energy",
        "fig5_clusters",
        "fig6_masses",
        "fig7_all_masses",
        "fig8_growth_rates",
        "fig9_convergence",
    ] {
        for extension in ["png", "svg"] {
            let path = dir
                .path()
                .join(format!("paper/figures/{figure}.{extension}"));
            assert!(path.exists(), "{}", path.display());
            assert!(report.contains(figure), "{figure} not in the report");
        }
    }
    let html = std::fs::read_to_string(dir.path().join("paper/report.html")).unwrap();
    assert!(html.matches("data:image/png;base64,").count() >= 11);
    for table in ["tasks", "clusters", "series", "fits", "bounds"] {
        assert!(dir
            .path()
            .join(format!("paper/many_seeds/{table}.parquet"))
            .exists());
    }
    // A second run computes nothing.
    let (code, stdout, _) = check(&args, dir.path());
    assert_eq!(code, 0);
    assert!(
        stdout.lines().any(|l| l.starts_with("0 tasks computed")),
        "{stdout}"
    );
}

const SMALL_SWEEP: &str = "[sweep]\nname = \"on_slurm\"\n[model]\nparticles = 20\n\
                           [grid]\ninit.seed = [1, 2, 3]\n\
                           [profile.quick]\nmodel.particles = 10\n";

/// The `#SBATCH --array=` value of a script.
fn array_range(script: &str) -> &str {
    script
        .lines()
        .find_map(|line| line.strip_prefix("#SBATCH --array="))
        .unwrap_or_else(|| panic!("no #SBATCH --array in {script}"))
}

#[test]
fn slurm_splits_arrays_larger_than_max_array_size_into_scripts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), SMALL_SWEEP).unwrap();
    let (code, stdout, stderr) = check(
        &[
            "slurm",
            "sweep.toml",
            "--array",
            "3000",
            "--array-limit",
            "50",
            "--max-array-size",
            "1001",
            "--cpus-per-task",
            "4",
            "--time",
            "2:00:00",
            "--partition",
            "short",
            "--sbatch-arg=--account=physics",
            "--store",
            "shared/store",
            "--out",
            "out",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("split into 3 scripts"), "{stdout}");
    let folder = dir.path().join("out/slurm");
    let store = dir.path().join("shared/store").canonicalize().unwrap();
    let sweep = dir.path().join("sweep.toml").canonicalize().unwrap();
    for (part, expected) in [(1, "0-1000%50"), (2, "0-1000%50"), (3, "0-997%50")] {
        let path = folder.join(format!("on_slurm.{part}.sbatch"));
        let script = std::fs::read_to_string(&path).unwrap();
        assert_eq!(array_range(&script), expected, "{}", path.display());
        for line in [
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --time=2:00:00",
            "#SBATCH --partition=short",
            "#SBATCH --signal=B:USR1@300",
            "#SBATCH --requeue",
            "#SBATCH --account=physics",
        ] {
            assert!(script.lines().any(|l| l == line), "no {line} in {script}");
        }
        let worker = format!(
            "worker --store {} {} -j 4 ",
            store.display(),
            sweep.display()
        );
        assert!(script.contains(&worker), "no `{worker}` in {script}");
        assert!(script.contains(&format!(
            "--output={}/on_slurm-%A_%a.out",
            folder.canonicalize().unwrap().display()
        )));
        let syntax = Command::new("bash").arg("-n").arg(&path).status().unwrap();
        assert!(syntax.success(), "bash -n {}", path.display());
        assert!(
            stdout.contains(&format!(
                "sbatch {}",
                path.canonicalize().unwrap().display()
            )),
            "{stdout}"
        );
    }
    assert!(!folder.join("on_slurm.4.sbatch").exists());

    // Within MaxArraySize: one script, no limit; a profile reaches the workers and the hints.
    let (code, stdout, stderr) = check(
        &[
            "slurm",
            "sweep.toml",
            "--profile",
            "quick",
            "--array",
            "3",
            "--store",
            "s",
            "--out",
            "small",
            "--max-array-size",
            "1001",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let script = std::fs::read_to_string(dir.path().join("small/slurm/on_slurm.sbatch")).unwrap();
    assert_eq!(array_range(&script), "0-2");
    let store = dir.path().join("s").canonicalize().unwrap();
    let target = format!(
        "{} --profile quick --store {}",
        sweep.display(),
        store.display()
    );
    let worker = format!(
        "worker --store {} {} --profile quick -j 1 ",
        store.display(),
        sweep.display()
    );
    assert!(script.contains(&worker), "no `{worker}` in {script}");
    assert!(
        script.contains(&format!("# Progress: sphereflow status {target}\n")),
        "{script}"
    );
    assert!(
        stdout.contains(&format!("then watch with: sphereflow status {target}\n")),
        "{stdout}"
    );
}

#[test]
fn slurm_refuses_bad_input_with_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), SMALL_SWEEP).unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[model]\nbeta = -1\n").unwrap();
    for (args, expected) in [
        (
            vec!["sweep.toml", "--array", "0"],
            "--array: must be at least 1",
        ),
        (
            vec!["sweep.toml", "--array", "2", "--cpus-per-task", "0"],
            "--cpus-per-task",
        ),
        (
            vec!["sweep.toml", "--array", "2", "--array-limit", "0"],
            "--array-limit",
        ),
        (
            vec!["sweep.toml", "--array", "2", "--time", "1h"],
            "is not a Slurm time limit",
        ),
        (
            vec!["sweep.toml", "--array", "2", "--time", "5"],
            "not longer than --signal-before",
        ),
        (vec!["sweep.toml", "--array", "2", "--mem", "4GB"], "--mem"),
        (
            vec!["sweep.toml", "--array", "2", "--sbatch-arg", "account"],
            "--sbatch-arg",
        ),
        (
            vec!["sweep.toml", "--array", "2", "--lease-ttl", "0"],
            "--lease-ttl",
        ),
        (vec!["missing.toml", "--array", "2"], "missing.toml"),
        (vec!["bad.toml", "--array", "2"], "model.beta"),
        (
            vec!["sweep.toml", "--array", "2", "--max-array-size", "0"],
            "--max-array-size: must be at least 1",
        ),
        (
            vec!["sweep.toml", "--array", "2", "--profile", "nosuch"],
            "no [profile.nosuch] (profiles: quick)",
        ),
        (
            vec!["sweep.toml", "--array", "2", "--out", "my out"],
            "cannot name a folder with white space",
        ),
    ] {
        let mut all = vec!["slurm"];
        all.extend(&args);
        all.extend(["--store", "store"]);
        for (flag, value) in [("--out", "out"), ("--max-array-size", "10")] {
            if !args.contains(&flag) {
                all.extend([flag, value]);
            }
        }
        let (code, _, stderr) = check(&all, dir.path());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!dir.path().join("out").exists(), "{args:?} wrote scripts");
        assert!(
            !dir.path().join("my out").exists(),
            "{args:?} wrote scripts"
        );
        assert!(
            !dir.path().join("store").exists(),
            "{args:?} created the store"
        );
    }
}

#[test]
fn slurm_submit_runs_sbatch_and_reports_the_job_id() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), SMALL_SWEEP).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let sbatch = bin.join("sbatch");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |script: &str| {
        std::fs::write(&sbatch, script).unwrap();
        let status = Command::new("chmod")
            .arg("+x")
            .arg(&sbatch)
            .status()
            .unwrap();
        assert!(status.success());
        let output = sphereflow()
            .args([
                "slurm",
                "sweep.toml",
                "--array",
                "2",
                "--store",
                "s",
                "--max-array-size",
                "100",
                "--submit",
            ])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) =
        run("#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\necho '4242;cluster'\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("submitted job array 4242 (2 elements)"),
        "{stdout}"
    );
    assert!(stdout.contains("squeue -j 4242"), "{stdout}");
    assert!(stdout.contains("sphereflow status"), "{stdout}");
    let args = std::fs::read_to_string(bin.join("args")).unwrap();
    assert!(
        args.starts_with("--parsable ")
            && args
                .trim_end()
                .ends_with("results/on_slurm/slurm/on_slurm.sbatch"),
        "{args}"
    );

    let (code, _, stderr) = run("#!/bin/sh\necho 'sbatch: error: invalid partition' >&2\nexit 1\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("invalid partition"), "{stderr}");
}

#[test]
fn status_names_the_host_and_slurm_element_holding_a_running_task() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), SMALL_SWEEP).unwrap();
    // `slurm` creates the store the elements will share.
    let (code, _, stderr) = check(
        &[
            "slurm",
            "sweep.toml",
            "--array",
            "2",
            "--store",
            "s",
            "--max-array-size",
            "9",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = check(
        &["plan", "sweep.toml", "--store", "s", "--json"],
        dir.path(),
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = plan["tasks"][0]["id"].as_str().unwrap().to_string();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let lease = serde_json::json!({
        "holder": "element-runner", "host": host.trim(), "pid": std::process::id(),
        "slurm": "77_3", "started_ms": now_ms, "heartbeat_ms": now_ms, "ttl_ms": 600_000,
    });
    std::fs::create_dir_all(dir.path().join("s/leases")).unwrap();
    std::fs::write(
        dir.path().join(format!("s/leases/{id}.lease")),
        lease.to_string(),
    )
    .unwrap();
    let (code, stdout, _) = check(&["status", "sweep.toml", "--store", "s"], dir.path());
    assert_eq!(code, 0);
    let place = format!(
        "Slurm element 77_3 on {} (pid {})",
        host.trim(),
        std::process::id()
    );
    assert!(
        stdout.contains(&format!("running: 1 on {place}")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("held by {place}")), "{stdout}");
    let (_, stdout, _) = check(
        &["status", "sweep.toml", "--store", "s", "--json"],
        dir.path(),
    );
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["tasks"][0]["lease"]["slurm"], "77_3", "{stdout}");
    assert_eq!(status["counts"]["running"], 1);
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    use std::io::Read;
    // Megabytes of output, far more than a pipe holds, so writing must hit the closed pipe.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("big.toml"),
        "[grid]\ninit.seed = { range = [0, 20000] }\n",
    )
    .unwrap();
    let mut child = sphereflow()
        .args(["plan", "big.toml", "--json"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe is closed
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Two tiny tasks at two β: every fit of their analysis goes through two points.
const TWO_BETAS: &str = "[sweep]\nname = \"pair\"\n[model]\nparticles = 24\n\
                         [stop]\nmax_steps = 20000\n[grid]\nmodel.beta = [1, 4]\n";

#[test]
fn run_status_analyze_and_show_speak_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("pair.toml"), TWO_BETAS).unwrap();
    let (code, stdout, stderr) = check(&["run", "pair.toml", "--store", "s", "--json"], d);
    assert_eq!(code, 0, "{stderr}");
    let run: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run["sweep"], "pair");
    assert_eq!(
        (run["n_tasks"].as_u64(), run["computed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(run["counts"]["cached"], 2);
    assert_eq!(run["tasks"][1]["state"], "cached");
    assert_eq!(run["tasks"][1]["coordinates"]["model.beta"], 4.0);

    // status --json has the coordinates plan --json has.
    let (code, stdout, stderr) = check(&["status", "pair.toml", "--store", "s", "--json"], d);
    assert_eq!(code, 0, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (_, stdout, _) = check(&["plan", "pair.toml", "--store", "s", "--json"], d);
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for (from_status, from_plan) in status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(plan["tasks"].as_array().unwrap())
    {
        assert_eq!(from_status["id"], from_plan["id"]);
        assert_eq!(from_status["coordinates"], from_plan["coordinates"]);
        assert!(from_status["coordinates"]["model.beta"].is_number());
    }

    // analyze --json: the tables' paths and the fits, flagged when they rest on two β.
    let args = [
        "analyze",
        "pair.toml",
        "--store",
        "s",
        "--out",
        "t",
        "--replicates",
        "20",
    ];
    let (code, stdout, stderr) = check(&[&args[..], &["--json"]].concat(), d);
    assert_eq!(code, 0, "{stderr}");
    let analysis: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for table in ["tasks", "clusters", "series", "fits", "bounds"] {
        let path = analysis["tables"][table].as_str().unwrap();
        assert!(d.join(path).is_file(), "{path}");
    }
    let fits = analysis["fits"].as_array().unwrap();
    assert!(!fits.is_empty(), "{stdout}");
    for fit in fits {
        assert_eq!(fit["n_points"], 2);
        assert_eq!(fit["few_points"], true, "{fit}");
    }
    let (code, stdout, _) = check(&args, d);
    assert_eq!(code, 0);
    assert!(stdout.contains("2 points (few points"), "{stdout}");

    // show: a task by a prefix of its id, its parameters, summary and files.
    let id = run["tasks"][1]["id"].as_str().unwrap().to_string();
    let (code, stdout, stderr) = check(&["show", &id[..8], "--store", "s"], d);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(&format!("task {id} (cached)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("model.beta") && stdout.contains("max_steps"),
        "{stdout}"
    );
    assert!(
        stdout.contains("after") && stdout.contains("steps"),
        "{stdout}"
    );
    assert!(stdout.contains("final.npy"), "{stdout}");
    let (code, stdout, stderr) = check(&["show", &id[..8], "--store", "s", "--json"], d);
    assert_eq!(code, 0, "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["state"], "cached");
    assert_eq!(shown["parameters"]["model.beta"], 4.0);
    assert!(shown["summary"]["steps"].as_u64().is_some());
    assert!(shown["summary"]["stop_reason"].is_string());
    for name in ["summary.json", "series.json", "final.npy", "frames.npy"] {
        let path = shown["files"][name].as_str().unwrap();
        assert!(d.join(path).is_file(), "{path}");
    }
}

#[test]
fn show_refuses_prefixes_that_match_no_task_or_several() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("pair.toml"), TWO_BETAS).unwrap();
    let (code, _, stderr) = check(&["run", "pair.toml", "--store", "s"], d);
    assert_eq!(code, 0, "{stderr}");
    // Two failure records whose ids share the prefix `abc`.
    for last in ['0', '1'] {
        let id = format!("abc{}{last}", "0".repeat(60));
        std::fs::write(d.join(format!("s/failed/{id}.json")), "{}").unwrap();
    }
    for (prefix, expected) in [
        (
            "abc",
            "2 tasks start so (abc0000000000000, abc0000000000000",
        ),
        ("xyz", "TASK_ID xyz: not a task id"),
        ("abcd", "TASK_ID abcd: no task of the store"),
    ] {
        let (code, stdout, stderr) = check(&["show", prefix, "--store", "s"], d);
        assert_eq!(code, 2, "{prefix}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{prefix}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
    }
    let (code, _, stderr) = check(&["show", "abc", "--store", "nowhere"], d);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--store nowhere: no store there"),
        "{stderr}"
    );
    assert!(!d.join("nowhere").exists());
}

#[test]
fn reproduce_away_from_the_sweeps_names_the_sweeps_option() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, stdout, stderr) = check(&["reproduce"], d);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("--sweeps sweeps/paper: no such folder"),
        "{stderr}"
    );
    assert!(stderr.contains("pass --sweeps DIR"), "{stderr}");
    std::fs::create_dir_all(d.join("mine")).unwrap();
    std::fs::write(d.join("mine/s1_beta.toml"), "[model]\nparticles = 10\n").unwrap();
    let (code, _, stderr) = check(&["reproduce", "--sweeps", "mine"], d);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("s2_beta.toml") && !stderr.contains("s1_beta.toml"),
        "{stderr}"
    );
    // Nothing written: no store, no results.
    assert!(!d.join("results").exists());
}

#[test]
fn simulate_and_stationary_draw_their_final_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let small = ["--set", "model.particles=40", "--set", "stop.max_steps=400"];
    for (dim, file) in [("2", "circle.png"), ("3", "sphere.svg")] {
        let dim = format!("model.dim={dim}");
        let args = [
            &["simulate", "--set", &dim][..],
            &small[..],
            &["--figure", file],
        ]
        .concat();
        let (code, _, stderr) = check(&args, d);
        assert_eq!(code, 0, "{stderr}");
        let bytes = std::fs::read(d.join(file)).unwrap();
        if file.ends_with(".png") {
            assert_eq!(&bytes[1..4], b"PNG");
        } else {
            assert!(String::from_utf8(bytes).unwrap().contains("<svg"));
        }
    }
    let (code, _, stderr) = check(
        &[&["stationary"][..], &small[..], &["--figure", "atoms.png"]].concat(),
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(d.join("atoms.png").is_file());
    // Checked before anything runs: the name, the dimension, the place.
    std::fs::write(d.join("a_file"), "").unwrap();
    for (args, expected) in [
        (
            vec!["--figure", "f.jpg"],
            "--figure f.jpg: the figure is a .png or .svg file",
        ),
        (
            vec!["--set", "model.dim=4", "--figure", "f.png"],
            "not for model.dim = 4",
        ),
        (
            vec!["--figure", "a_file/f.png"],
            "--figure a_file/f.png: a_file is a file",
        ),
    ] {
        for command in ["simulate", "stationary"] {
            let full = [
                &[command][..],
                &args[..],
                &["--set", "stop.max_steps=100000000"],
            ]
            .concat();
            let (code, stdout, stderr) = check(&full, d);
            assert_eq!(code, 2, "{full:?}: {stdout}{stderr}");
            assert!(stderr.contains(expected), "{full:?}: {stderr}");
        }
    }
    assert!(!d.join("f.png").exists() && !d.join("f.jpg").exists());
}

#[test]
fn simulate_reports_a_spreading_run_by_its_distance_from_uniform_not_as_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Descent without a perceptron repels (MODEL.md §7): the particles spread.
    let null = [
        "simulate",
        "--set",
        "model.particles=200",
        "--set",
        "model.beta=10",
        "--set",
        "perceptron.activation=none",
        "--set",
        "stop.max_steps=2000",
    ];
    let (code, stdout, stderr) = check(&[&null[..], &["--json"]].concat(), d);
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["spread"], true, "{stdout}");
    // 200 particles: the largest gap is at least the uniform spacing, and far below a
    // clustered state's (which leaves most of the circle empty).
    let gap = summary["largest_gap"].as_f64().unwrap();
    assert!((1.0..40.0).contains(&gap), "{stdout}");
    let w1 = summary["w1_uniform"].as_f64().unwrap();
    assert!(w1 > 0.0 && w1 < 0.2, "{stdout}");
    let (code, line, stderr) = check(&[&null[..], &["--figure", "null.png"]].concat(), d);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        line.contains("spread (descent without a perceptron: not clusters): largest gap"),
        "{line}"
    );
    assert!(
        !line.contains("cluster,") && !line.contains("clusters,"),
        "{line}"
    );
    // The one-panel figure is wide enough for its title and key (700 pixels).
    let png = std::fs::read(d.join("null.png")).unwrap();
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert!(width >= 700, "{width}");
    // With a perceptron: clusters, and no spread measures.
    let (code, stdout, stderr) = check(
        &[
            "simulate",
            "--set",
            "model.particles=200",
            "--set",
            "model.beta=10",
            "--json",
        ],
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["spread"], false, "{stdout}");
    assert!(summary.get("largest_gap").is_none() && summary["n_clusters"].as_u64().unwrap() >= 1);
}

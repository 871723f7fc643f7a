//! End-to-end tests of `sphereflow meanfield` and of mean-field tasks in sweeps.

use std::path::Path;

mod common;
use common::check;

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn the_density_is_written_per_radian_and_its_series_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = check(
        &[
            "meanfield",
            "--set",
            "model.beta=5",
            "--set",
            "meanfield.cells=256",
            "--set",
            "meanfield.t_end=4",
            "--set",
            "meanfield.snapshots=5",
            "--json",
            "--out",
            "rho.npy",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let run = json(&stdout);
    let times: Vec<f64> = serde_json::from_value(run["times"].clone()).unwrap();
    assert_eq!(times, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    let mass: Vec<f64> = serde_json::from_value(run["series"]["mass"].clone()).unwrap();
    let energy: Vec<f64> = serde_json::from_value(run["series"]["energy"].clone()).unwrap();
    assert_eq!(mass.len(), energy.len());
    assert!(mass.iter().all(|m| (m - 1.0).abs() < 1e-13), "{mass:?}");
    // Descent (the default regime): the energy never increases.
    assert!(energy.windows(2).all(|w| w[1] <= w[0] + 1e-13));
    assert!(run["runtime_s"].as_f64().unwrap() >= 0.0);
    let (shape, rho) = read_npy(&dir.path().join("rho.npy"));
    assert_eq!(shape, vec![5, 256]);
    let h = std::f64::consts::TAU / 256.0;
    for snapshot in rho.chunks(256) {
        assert!(snapshot.iter().all(|r| *r >= 0.0));
        assert!((snapshot.iter().sum::<f64>() * h - 1.0).abs() < 1e-13);
    }
    // The uniform start: the first snapshot is 1/(2π) in every cell.
    assert!(rho[..256]
        .iter()
        .all(|r| (r - 1.0 / std::f64::consts::TAU).abs() < 1e-15));
}

#[test]
fn bad_parameters_exit_2_name_the_key_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--set", "meanfield.cells=4"], "meanfield.cells"),
        (&["--set", "meanfield.cfl=1.5"], "meanfield.cfl"),
        (&["--set", "meanfield.cfl=0"], "meanfield.cfl"),
        (&["--set", "model.dim=3"], "model.dim"),
        (&["--set", "model.solver=particles"], "model.solver"),
        (
            &["--set", "meanfield.snapshots=100000000"],
            "meanfield.snapshots`: must be at most 1000000",
        ),
    ];
    for (sets, key) in cases {
        let mut args = vec!["meanfield"];
        args.extend_from_slice(sets);
        args.extend_from_slice(&["--out", "rho.npy"]);
        let (code, _, stderr) = check(&args, dir.path());
        assert_eq!(code, 2, "{sets:?}: {stderr}");
        assert!(stderr.contains(key), "{sets:?}: {stderr}");
        assert!(!dir.path().join("rho.npy").exists(), "{sets:?}");
    }
    let (code, _, stderr) = check(&["simulate", "--set", "model.solver=meanfield"], dir.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("sphereflow meanfield"), "{stderr}");
}

#[test]
fn mean_field_tasks_are_planned_cached_and_analyzed_beside_particles() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = "[sweep]\nname = \"limit\"\n\
        [model]\nbeta = 4\nparticles = 60\n\
        [perceptron]\nactivation = \"relu\"\n\
        [stop]\nt_max = 2\ndrift_tol = 0\n\
        [meanfield]\ncells = 128\nt_end = 2\nsnapshots = 3\n\
        [grid]\nmodel.solver = [\"particles\", \"meanfield\"]\ninit.seed = [1, 2]\n";
    std::fs::write(dir.path().join("limit.toml"), sweep).unwrap();
    // The mean-field solver does not read init.seed: its two combinations are one task.
    let (code, stdout, stderr) = check(&["plan", "limit.toml", "--json"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let plan = json(&stdout);
    assert_eq!(plan["n_tasks"], 3, "{stdout}");
    let (code, _, stderr) = check(&["run", "limit.toml", "-j", "2"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = check(&["status", "limit.toml", "--json"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(json(&stdout)["counts"]["cached"], 3, "{stdout}");
    let (code, _, stderr) = check(&["analyze", "limit.toml"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("results/limit/tasks.parquet").exists());
    // The stored mean-field task: its final state is the density's cells, of total mass 1.
    let store = common::results_of(&dir.path().join("results/store"));
    let summaries: Vec<serde_json::Value> = store
        .iter()
        .filter(|(path, _)| path.ends_with("summary.json"))
        .map(|(_, bytes)| serde_json::from_slice(bytes).unwrap())
        .collect();
    assert_eq!(summaries.len(), 3);
    let meanfield: Vec<_> = summaries
        .iter()
        .filter(|s| s["spec"]["parameters"]["model.solver"] == "meanfield")
        .collect();
    assert_eq!(meanfield.len(), 1);
    assert_eq!(meanfield[0]["summary"]["stop_reason"], "t_max");
    assert_eq!(meanfield[0]["summary"]["t_final"], 2.0);
}

#[test]
fn a_density_that_spreads_is_reported_by_its_distance_from_uniform_not_as_clusters() {
    let dir = tempfile::tempdir().unwrap();
    // Descent without a perceptron repels (MODEL.md §7): a cosine bump flattens out.
    let args = |extra: &[&'static str]| {
        let mut args = vec![
            "meanfield",
            "--set",
            "model.beta=5",
            "--set",
            "perceptron.activation=none",
            "--set",
            "init.law=cosine",
            "--set",
            "meanfield.cells=256",
            "--set",
            "meanfield.t_end=2",
        ];
        args.extend_from_slice(extra);
        args
    };
    let (code, stdout, stderr) = check(&args(&["--json"]), dir.path());
    assert_eq!(code, 0, "{stderr}");
    let run = json(&stdout);
    assert_eq!(run["spread"], true, "{stdout}");
    let (peak, trough) = (
        run["density_peak"].as_f64().unwrap(),
        run["density_trough"].as_f64().unwrap(),
    );
    assert!(trough < 1.0 && 1.0 < peak, "{stdout}");
    assert!(run["w1_uniform"].as_f64().unwrap() > 0.0, "{stdout}");
    let (code, line, stderr) = check(&args(&[]), dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        line.contains("spread (descent without a perceptron: not clusters)"),
        "{line}"
    );
    assert!(
        line.contains("W1 to uniform") && !line.contains("cluster,") && !line.contains("clusters,"),
        "{line}"
    );
    // With a perceptron the density gathers: clusters, and no spread measures.
    let (code, stdout, stderr) = check(
        &[
            "meanfield",
            "--set",
            "model.beta=5",
            "--set",
            "meanfield.cells=256",
            "--set",
            "meanfield.t_end=2",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let run = json(&stdout);
    assert_eq!(run["spread"], false, "{stdout}");
    assert!(run.get("w1_uniform").is_none() && run["n_clusters"].as_u64().unwrap() >= 1);
}

//! End-to-end tests of `sphereflow stationary` and of `stop.certify` in sweeps.

use std::path::Path;

mod common;
use common::{check, write_npy};

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The GeLU run at β = 7 (n = 1000) converges with its clusters still extended along arcs, over
/// 300 atoms: the end state is coarsened into groups of 1e-3 rad (a tenth of 1e-2) and certified.
#[test]
fn an_end_state_of_extended_clusters_is_certified_coarsened() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "stationary",
        "--set",
        "model.beta=7",
        "--set",
        "perceptron.activation=gelu",
    ];
    let (code, stdout, stderr) = check(&[&args[..], &["--json"]].concat(), dir.path());
    assert_eq!(code, 0, "{stderr}");
    let cert = json(&stdout);
    assert_eq!(cert["flow"]["stop_reason"], "converged", "{stdout}");
    assert_eq!(cert["coarsened"].as_f64(), Some(1e-3), "{stdout}");
    assert_eq!(cert["classification"], "strict", "{stdout}");
    assert_eq!(cert["atoms"].as_array().unwrap().len(), 10, "{stdout}");
    let (code, stdout, stderr) = check(&args, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("polished from groups of diameter at most 1.0e-3 rad"),
        "{stdout}"
    );
}

#[test]
fn a_run_end_state_is_certified_a_minimum_and_its_atoms_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = check(
        &[
            "stationary",
            "--set",
            "model.particles=80",
            "--set",
            "model.beta=5",
            "--json",
            "--out",
            "atoms.npy",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let cert = json(&stdout);
    for key in [
        "residual",
        "eigenvalues",
        "lambda_min",
        "zero_modes",
        "classification",
        "atoms",
        "newton_iterations",
        "runtime_s",
        "flow",
    ] {
        assert!(cert.get(key).is_some(), "missing {key} in {stdout}");
    }
    // Escapes are on: what is reported is a minimum, polished to rounding.
    let class = cert["classification"].as_str().unwrap();
    assert!(matches!(class, "strict" | "sopd"), "{class}");
    assert!(cert["residual"].as_f64().unwrap() <= 1e-10, "{stdout}");
    let eigenvalues: Vec<f64> = cert["eigenvalues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(eigenvalues.windows(2).all(|w| w[0] <= w[1]));
    let atoms = cert["atoms"].as_array().unwrap();
    // On S^1 the Hessian has one row per atom.
    assert_eq!(eigenvalues.len(), atoms.len());
    // The flow stopped once settled, or converged at the check where its count became stable.
    let reason = cert["flow"]["stop_reason"].as_str().unwrap();
    assert!(matches!(reason, "settled" | "converged"), "{reason}");
    let (shape, rows) = read_npy(&dir.path().join("atoms.npy"));
    assert_eq!(shape, vec![atoms.len() as u64, 3]);
    let total: f64 = rows.chunks(3).map(|r| r[0]).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    for (row, atom) in rows.chunks(3).zip(atoms) {
        assert_eq!(row[0], atom["mass"].as_f64().unwrap());
        assert!((row[1].hypot(row[2]) - 1.0).abs() < 1e-12);
    }

    // The atoms, certified again from the file without escapes: the same minimum.
    let (code, stdout, stderr) = check(
        &[
            "stationary",
            "--set",
            "model.beta=5",
            "--from",
            "atoms.npy",
            "--no-escape",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let again = json(&stdout);
    assert_eq!(again["classification"], cert["classification"]);
    assert_eq!(again["atoms"].as_array().unwrap().len(), atoms.len());
    assert!(again["flow"].is_null());
    assert_eq!(again["escapes"].as_array().unwrap().len(), 0);
    for (a, b) in again["atoms"].as_array().unwrap().iter().zip(atoms) {
        for (x, y) in a["position"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["position"].as_array().unwrap())
        {
            assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9);
        }
    }
}

#[test]
fn equally_spaced_unit_rows_are_a_minimum_with_one_rotation_mode() {
    let dir = tempfile::tempdir().unwrap();
    let k = 6;
    let rows: Vec<f64> = (0..k)
        .flat_map(|a| {
            let theta = std::f64::consts::TAU * a as f64 / k as f64;
            [theta.cos(), theta.sin()]
        })
        .collect();
    write_npy(&dir.path().join("ring.npy"), &[k as u64, 2], &rows);
    let (code, stdout, stderr) = check(
        &[
            "stationary",
            "--set",
            "perceptron.activation=none",
            "--set",
            "model.beta=1",
            "--from",
            "ring.npy",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    // The text line names the class, the atoms and the rotation mode.
    assert!(stdout.contains(" 6 atoms"), "{stdout}");
    assert!(stdout.contains("1 zero mode,"), "{stdout}");
    assert!(
        stdout.starts_with("strict:") || stdout.starts_with("sopd:"),
        "{stdout}"
    );

    // In ascent the same ring is a saddle; without escape it is reported as one.
    let (code, stdout, stderr) = check(
        &[
            "stationary",
            "--set",
            "perceptron.activation=none",
            "--set",
            "model.regime=ascent",
            "--from",
            "ring.npy",
            "--no-escape",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let cert = json(&stdout);
    assert_eq!(cert["classification"], "saddle", "{stdout}");
    assert!(cert["lambda_min"].as_f64().unwrap() < 0.0);
}

#[test]
fn bad_state_files_exit_2_naming_the_file_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_npy(&d.join("nan.npy"), &[2, 2], &[1.0, 0.0, f64::NAN, 1.0]);
    write_npy(
        &d.join("wide.npy"),
        &[2, 4],
        &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    );
    write_npy(&d.join("long.npy"), &[2, 2], &[1.0, 0.0, 0.0, 2.0]);
    write_npy(
        &d.join("mass.npy"),
        &[2, 3],
        &[0.5, 1.0, 0.0, -0.5, 0.0, 1.0],
    );
    write_npy(&d.join("flat.npy"), &[4], &[1.0, 0.0, 0.0, 1.0]);
    std::fs::write(d.join("text.npy"), "not an array").unwrap();
    for (file, expected) in [
        ("nan.npy", "row 1, column 0: NaN is not finite"),
        ("wide.npy", "4 columns, but model.dim = 2"),
        ("long.npy", "row 1: the position has norm 2"),
        ("mass.npy", "row 1: mass -0.5 is not positive"),
        ("flat.npy", "expected a 2-d array"),
        ("text.npy", "not an .npy file"),
        ("missing.npy", "missing.npy"),
    ] {
        let (code, _, stderr) = check(&["stationary", "--from", file, "--out", "atoms.npy"], d);
        assert_eq!(code, 2, "{file}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: --from {file}: ")),
            "{file}: {stderr}"
        );
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(!d.join("atoms.npy").exists(), "{file}");
    }
    let (code, _, stderr) = check(&["stationary", "--out", "atoms.txt"], d);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--out atoms.txt"), "{stderr}");
}

#[test]
fn fortran_ordered_state_files_are_read_by_rows() {
    let dir = tempfile::tempdir().unwrap();
    // The antipodal rows (0.6, 0.8) and (-0.6, -0.8), stored column after column. Read as if
    // C-ordered they would be (0.6, -0.6) and (0.8, -0.8), not unit vectors.
    let header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let padded = format!("{header:<117}\n");
    bytes.extend((padded.len() as u16).to_le_bytes());
    bytes.extend(padded.as_bytes());
    for v in [0.6f64, -0.6, 0.8, -0.8] {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(dir.path().join("f.npy"), &bytes).unwrap();
    let (code, stdout, stderr) = check(
        &[
            "stationary",
            "--set",
            "perceptron.activation=none",
            "--from",
            "f.npy",
            "--no-escape",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    // An antipodal pair is stationary under pure attention: the atoms stay where they are.
    let cert = json(&stdout);
    let atoms = cert["atoms"].as_array().unwrap();
    assert_eq!(atoms.len(), 2, "{stdout}");
    for (atom, expected) in atoms.iter().zip([[0.6, 0.8], [-0.6, -0.8]]) {
        for (x, want) in atom["position"].as_array().unwrap().iter().zip(expected) {
            assert!((x.as_f64().unwrap() - want).abs() < 1e-12, "{stdout}");
        }
    }
}

#[test]
fn float32_unit_rows_are_read_to_single_precision_and_renormalized() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Twelve unit rows on the circle, rounded to f32: their norms miss 1 by up to ~1e-7.
    let angles: Vec<f64> = (0..12).map(|i| 0.3 + 0.5 * f64::from(i)).collect();
    let unit: Vec<f32> = angles
        .iter()
        .flat_map(|a| [a.cos() as f32, a.sin() as f32])
        .collect();
    let off = unit
        .chunks(2)
        .map(|r| (f64::from(r[0]).hypot(f64::from(r[1])) - 1.0).abs())
        .fold(0.0, f64::max);
    assert!(
        off > 1e-9,
        "the rows must test the single-precision tolerance: {off}"
    );
    write_npy(&d.join("f32.npy"), &[12, 2], &unit);
    let (code, stdout, stderr) = check(
        &["stationary", "--from", "f32.npy", "--no-escape", "--json"],
        d,
    );
    assert_eq!(code, 0, "{stderr}");
    for atom in json(&stdout)["atoms"].as_array().unwrap() {
        let x: Vec<f64> = atom["position"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!((x[0].hypot(x[1]) - 1.0).abs() < 1e-12, "{stdout}");
    }

    // A row of norm 1.01 is refused all the same.
    let mut long = unit.clone();
    long[6] *= 1.01;
    long[7] *= 1.01;
    write_npy(&d.join("long32.npy"), &[12, 2], &long);
    let (code, _, stderr) = check(
        &["stationary", "--from", "long32.npy", "--out", "atoms.npy"],
        d,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: --from long32.npy: row 3: the position has norm 1.0"),
        "{stderr}"
    );
    assert!(!d.join("atoms.npy").exists());
}

#[test]
fn a_certifying_sweep_stores_each_certificate_with_its_task() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sweep.toml"),
        "[sweep]\nname = \"certified\"\n[model]\nparticles = 60\n[stop]\ncertify = true\n\
         [grid]\nmodel.beta = [2, 8]\n",
    )
    .unwrap();
    let (code, _, stderr) = check(
        &["run", "sweep.toml", "--store", "store", "-j", "1"],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let mut certified = 0;
    for shard in std::fs::read_dir(dir.path().join("store/objects")).unwrap() {
        for object in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let path = object.unwrap().path().join("summary.json");
            let summary: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let cert = &summary["certificate"];
            let class = cert["classification"].as_str().unwrap_or("none");
            assert!(matches!(class, "strict" | "sopd"), "{path:?}: {class}");
            // Settled, or converged at the check where the count became stable.
            let reason = summary["summary"]["stop_reason"].as_str().unwrap();
            assert!(
                matches!(reason, "settled" | "converged"),
                "{path:?}: {reason}"
            );
            assert!(cert["residual"].as_f64().unwrap() <= 1e-10);
            certified += 1;
        }
    }
    assert_eq!(certified, 2);
    // A second run is all cache hits.
    let (code, stdout, stderr) = check(
        &["run", "sweep.toml", "--store", "store", "-j", "1"],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("0 computed, 2 cached"), "{stdout}{stderr}");
}

/// The end state of the paper's S^2 run at β = 7 (n = 500 merged into 8 atoms, ReLU, seeds
/// 42/111) leads, after one escape, to a saddle whose negative curvature is weak (λ ≈ -8e-6
/// against a Hessian norm of 0.89, carried by an atom of mass 0.002): a step of 1e-2 rad off it
/// gains about 2e-12 of energy, below what the flow's descent test resolves, and ten such
/// escapes end where they began. Escapes whose flow falls short step farther, and leave it.
#[test]
fn a_weak_saddle_is_left_by_growing_escape_steps() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/s2_weak_saddle.npy");
    let from = fixture.to_str().unwrap();
    let mut args = vec!["stationary", "--from", from, "--json"];
    for set in [
        "model.dim=3",
        "model.particles=500",
        "model.beta=7",
        "perceptron.activation=relu",
        "perceptron.seed=111",
        "init.seed=42",
    ] {
        args.extend(["--set", set]);
    }
    let (code, stdout, stderr) = check(&args, dir.path());
    assert_eq!(code, 0, "{stderr}");
    let cert = json(&stdout);
    let escapes = cert["escapes"].as_array().unwrap();
    // The weak saddle's energy, where the fixed-step escapes stayed.
    let saddle = -0.244_153_727_316_846_8;
    let energy = cert["energy"].as_f64().unwrap();
    assert!(
        energy < saddle - 1e-9,
        "energy {energy} not below the weak saddle's {saddle}: {escapes:?}"
    );
    assert!(escapes.len() < 10, "{} escapes: {escapes:?}", escapes.len());
    assert_ne!(cert["classification"], "saddle", "{stdout}");
    assert!(cert["lambda_min"].as_f64().unwrap() > 0.0, "{stdout}");
}

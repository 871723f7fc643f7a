//! Times one Euler step of the solver on a chosen pair-kernel path, and optionally writes the
//! inputs and the stepped positions as `.npy` files for `bench/numpy_step.py` to check.
//!
//! ```text
//! cargo run --release -p sphereflow-solver --example step_bench -- \
//!     --n 1000 --dim 3 --beta 1 --path simd --reps 200 [--out DIR]
//! ```
//!
//! The model is the authors' default: USA, descent, ReLU perceptron with `dim` neurons, shifted
//! kernel, Euler with `dt = 0.1` and the default retraction of the dimension. Prints one line of
//! JSON: the median step time and pair interactions (`n²`) per second.

use std::io::Write;
use std::time::Instant;

use sphereflow_solver::integrate::{step, Scratch};
use sphereflow_solver::kernel::{Backend, FieldPath};
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{Method, Par, Problem};

struct Options {
    n: usize,
    dim: usize,
    beta: f64,
    path: String,
    reps: usize,
    out: Option<String>,
}

fn parse() -> Options {
    let mut options = Options {
        n: 1000,
        dim: 3,
        beta: 1.0,
        path: "auto".into(),
        reps: 100,
        out: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).expect("every option takes a value");
        match pair[0].as_str() {
            "--n" => options.n = value.parse().expect("--n takes an integer"),
            "--dim" => options.dim = value.parse().expect("--dim takes an integer"),
            "--beta" => options.beta = value.parse().expect("--beta takes a number"),
            "--path" => options.path = value.clone(),
            "--reps" => options.reps = value.parse().expect("--reps takes an integer"),
            "--out" => options.out = Some(value.clone()),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// Writes a row-major `rows × cols` f64 array as a version 1.0 `.npy` file.
fn write_npy(path: &str, rows: usize, cols: usize, values: &[f64]) {
    assert_eq!(values.len(), rows * cols);
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for v in values {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&bytes))
        .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
}

fn main() {
    let options = parse();
    let mut params = default_params_in(options.dim);
    params.model.particles = options.n;
    params.model.beta = options.beta;
    let problem = Problem::new(params, None, None).expect("valid parameters");
    let dynamics = &problem.dynamics;
    let path = match options.path.as_str() {
        "scalar" => FieldPath::Scalar,
        "portable" => FieldPath::Direct(Backend::Portable),
        "simd" => FieldPath::Direct(Backend::Avx2),
        "spectral" => FieldPath::Spectral(Backend::detect()),
        "auto" => dynamics.field_path(options.n),
        other => panic!("unknown path {other}: scalar, portable, simd, spectral or auto"),
    };
    let start = &problem.initial;
    let integrator = &problem.params.integrator;
    let mut positions = start.positions.clone();
    let mut velocity = vec![0.0; positions.len()];
    let mut scratch = Scratch::default();
    let mut one_step = |positions: &mut Vec<f64>| {
        positions.copy_from_slice(&start.positions);
        dynamics.velocity_via(path, positions, &start.masses, &mut velocity, Par::Rayon);
        step(
            Method::Euler,
            integrator.retraction,
            integrator.tol,
            dynamics,
            positions,
            &start.masses,
            &mut velocity,
            integrator.dt,
            &mut scratch,
            Par::Rayon,
        );
    };
    // On a worker of the pool, as the solver's runs step (`run::simulate`).
    let mut times: Vec<f64> = rayon::scope(|_| {
        one_step(&mut positions); // warm up
        (0..options.reps.max(1))
            .map(|_| {
                let clock = Instant::now();
                one_step(&mut positions);
                clock.elapsed().as_secs_f64()
            })
            .collect()
    });
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    if let Some(dir) = &options.out {
        std::fs::create_dir_all(dir).expect("output directory");
        let (n, dim) = (options.n, options.dim);
        write_npy(&format!("{dir}/x0.npy"), n, dim, &start.positions);
        write_npy(&format!("{dir}/x1_rust.npy"), n, dim, &positions);
        let perceptron = &dynamics.perceptron;
        let rows: Vec<f64> = (0..perceptron.width())
            .flat_map(|j| {
                let mut row = perceptron.direction(j).to_vec();
                row.push(perceptron.weights[j]);
                row
            })
            .collect();
        write_npy(
            &format!("{dir}/perceptron.npy"),
            perceptron.width(),
            dim + 1,
            &rows,
        );
    }
    println!(
        "{{\"n\": {}, \"dim\": {}, \"beta\": {}, \"path\": \"{:?}\", \"threads\": {}, \
         \"median_step_s\": {:e}, \"pairs_per_s\": {:e}}}",
        options.n,
        options.dim,
        options.beta,
        path,
        rayon::current_num_threads(),
        median,
        (options.n * options.n) as f64 / median
    );
}

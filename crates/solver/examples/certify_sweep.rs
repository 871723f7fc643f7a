//! Times certifying, as `stop.certify` does, the end state of each run with a perceptron of the
//! paper's S^1 β sweep (sweeps/paper/s1_beta.toml: n = 1000, USA descent, m = 2 neurons of seed
//! 777, ReLU and GeLU, 13 values of β): each run goes to its stopping rule once, then `certify`
//! (merge, coarsening where the end state has more than `MAX_CERTIFIED_ATOMS` atoms, Newton,
//! spectrum, escapes) is timed, best of three. Prints a Markdown table.
//!
//!     cargo run --release -p sphereflow-solver --example certify_sweep
use sphereflow_solver::clusters::merge_close;
use sphereflow_solver::params::Activation;
use sphereflow_solver::testing::default_params;
use sphereflow_solver::{certify, end_state_options, simulate, Par, Problem};
use std::time::Instant;

const BETAS: [f64; 13] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 3.0, 5.0, 7.0, 10.0, 15.0, 25.0, 35.0, 50.0,
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "| activation | β | atoms merged | coarsened (rad) | certificate | atoms | certify (s) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut total = 0.0;
    for activation in [Activation::Relu, Activation::Gelu] {
        for beta in BETAS {
            let mut params = default_params();
            params.model.beta = beta;
            params.perceptron.activation = activation;
            let problem = Problem::new(params, None, None)?;
            let end = simulate(&problem, Par::Rayon)?.final_state;
            let options = end_state_options(&problem, &end);
            let mut merged = end.clone();
            merge_close(&mut merged, options.merge_tol);
            let mut best = f64::INFINITY;
            let mut certificate = None;
            for _ in 0..3 {
                let start = Instant::now();
                certificate = Some(certify(&problem.dynamics, &end, &options, Par::Rayon)?);
                best = best.min(start.elapsed().as_secs_f64());
            }
            let certificate = certificate.expect("three certifications");
            total += best;
            let coarsened = options
                .coarsen
                .map_or("—".to_string(), |d| format!("{d:.2e}"));
            println!(
                "| {activation:?} | {beta} | {} | {coarsened} | {:?} | {} | {best:.3} |",
                merged.len(),
                certificate.classification,
                certificate.atoms.len(),
            );
        }
    }
    println!("\ncertification, all 26 runs: {total:.2} s");
    Ok(())
}

//! What certification returns when it takes over a run that never meets its stopping rule: the
//! three ReLU runs of the paper's S^1 β sweep (sweeps/paper/s1_beta.toml: n = 1000, USA descent,
//! m = 2 neurons of seed 777, β = 25, 35, 50) stop at their 200,000-step cap, with heavy clusters
//! and a scatter of single particles still drifting where no neuron acts. Each run is certified
//! as `stop.certify` certifies a capped run (merge, coarsening, Newton, escapes, and a descent
//! where the polish stalls) from its state at several steps along the flow, and, for comparison,
//! polished without escapes or descent (`--no-escape`). Prints a Markdown table: class, atoms,
//! energy and the three heaviest masses of each certificate, and the time it took.
//!
//!     cargo run --release -p sphereflow-solver --example certify_capped
use sphereflow_solver::params::Activation;
use sphereflow_solver::testing::default_params;
use sphereflow_solver::{certify, end_state_options, Par, Problem, Simulation};
use std::time::Instant;

const STEPS: [u64; 5] = [3_200, 20_000, 50_000, 100_000, 200_000];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "| β | step | flow clusters | certificate | atoms | energy | heaviest masses | certify (s) | polish only |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for beta in [25.0, 35.0, 50.0] {
        let mut params = default_params();
        params.model.beta = beta;
        params.perceptron.activation = Activation::Relu;
        let problem = Problem::new(params, None, None)?;
        let mut simulation = Simulation::start(&problem);
        for step in STEPS {
            while simulation.step < step && simulation.stopped.is_none() {
                simulation.advance(&problem, step - simulation.step, Par::Rayon)?;
            }
            let state = &simulation.state;
            let options = end_state_options(&problem, state);
            let start = Instant::now();
            let certificate = certify(&problem.dynamics, state, &options, Par::Rayon)?;
            let seconds = start.elapsed().as_secs_f64();
            let polish_options = sphereflow_solver::stationary::CertifyOptions {
                escape: false,
                ..options.clone()
            };
            let polished = certify(&problem.dynamics, state, &polish_options, Par::Rayon)?;
            let mut masses: Vec<f64> = certificate.atoms.iter().map(|a| a.mass).collect();
            masses.sort_by(|a, b| b.total_cmp(a));
            let heaviest: Vec<String> = masses.iter().take(3).map(|m| format!("{m:.3}")).collect();
            let clusters = simulation.series.last().map_or(0, |row| row.n_clusters);
            println!(
                "| {beta} | {} | {clusters} | {:?} | {} | {:.6e} | {} | {seconds:.2} | {:?}, residual {:.1e} |",
                simulation.step,
                certificate.classification,
                certificate.atoms.len(),
                certificate.energy,
                heaviest.join(", "),
                polished.classification,
                polished.residual,
            );
        }
    }
    Ok(())
}

//! Times the steps of a run with and without the checks of the stopping rule, in one process,
//! and the parts of a check (cluster counting and the linkage alone; the energy as a separate pass,
//! which a check no longer makes; the all-pairs counting the cell lists replaced).
//!
//! ```text
//! cargo run --release -p sphereflow-solver --example checks_bench -- \
//!     --n 20000 --dim 3 --beta 1 --steps 20 --reps 3 [--check-every 10]
//! ```
//!
//! The model is `sphereflow simulate`'s default in dimension `dim` (USA, descent, ReLU with `dim`
//! neurons, Euler `dt = 0.1`). Each repetition advances the same run by `steps` steps twice,
//! once checking every `check-every` steps and once without checks, alternating so that both
//! see the same machine load. Prints one line of JSON with medians in milliseconds.

use std::time::Instant;

use sphereflow_solver::clusters::{count_and_spread_within, linkage_groups};
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{reference, Par, Problem, Simulation};

struct Options {
    n: usize,
    dim: usize,
    beta: f64,
    steps: u64,
    reps: usize,
    check_every: u64,
}

fn parse() -> Options {
    let mut options = Options {
        n: 1000,
        dim: 3,
        beta: 1.0,
        steps: 20,
        reps: 3,
        check_every: 10,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).expect("every option takes a value");
        match pair[0].as_str() {
            "--n" => options.n = value.parse().expect("--n takes an integer"),
            "--dim" => options.dim = value.parse().expect("--dim takes an integer"),
            "--beta" => options.beta = value.parse().expect("--beta takes a number"),
            "--steps" => options.steps = value.parse().expect("--steps takes an integer"),
            "--reps" => options.reps = value.parse().expect("--reps takes an integer"),
            "--check-every" => {
                options.check_every = value.parse().expect("--check-every takes an integer")
            }
            other => panic!("unknown option {other}"),
        }
    }
    options
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn millis(clock: Instant) -> f64 {
    clock.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let options = parse();
    let mut params = default_params_in(options.dim);
    params.model.particles = options.n;
    params.model.beta = options.beta;
    params.stop.max_steps = u64::MAX / 4;
    params.stop.check_every = options.check_every;
    params.measure.frames = 64;
    let mut unchecked_params = params.clone();
    unchecked_params.stop.check_every = u64::MAX / 2;

    // Before the first step: the problem, the start and the check at step 0.
    let clock = Instant::now();
    let checked = Problem::new(params.clone(), None, None).expect("valid parameters");
    let mut simulation = Simulation::start(&checked);
    simulation
        .advance(&checked, 0, Par::Rayon)
        .expect("the run advances");
    let first_check_ms = millis(clock);
    let unchecked = Problem::new(unchecked_params, None, None).expect("valid parameters");

    let radius = params.cluster_radius();
    let (mut with_checks, mut without_checks) = (Vec::new(), Vec::new());
    let (mut energy_ms, mut counting_ms, mut all_pairs_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut linkage_ms = Vec::new();
    let mut clusters = 0;
    for rep in 0..options.reps.max(1) {
        for checking in [rep % 2 == 0, rep % 2 != 0] {
            let problem = if checking { &checked } else { &unchecked };
            let mut run = Simulation::start(problem);
            run.state = simulation.state.clone();
            run.step = simulation.step;
            // A check at this step has been taken: time only steps (and later checks).
            run.last_check = Some(run.step);
            let clock = Instant::now();
            run.advance(problem, options.steps, Par::Rayon)
                .expect("the run advances");
            let per_step = millis(clock) / options.steps as f64;
            if checking {
                with_checks.push(per_step);
                simulation = run;
            } else {
                without_checks.push(per_step);
            }
        }
        let state = &simulation.state;
        let clock = Instant::now();
        std::hint::black_box(
            checked
                .dynamics
                .energy(&state.positions, &state.masses, Par::Rayon),
        );
        energy_ms.push(millis(clock));
        let clock = Instant::now();
        // What a check computes: the count, and whether the spreads are within the radius
        // and a tenth of it.
        clusters = count_and_spread_within(state, radius, &[radius, 0.1 * radius]).0;
        counting_ms.push(millis(clock));
        // The linkage alone (the rest of the count is the clusters' spreads).
        let clock = Instant::now();
        std::hint::black_box(linkage_groups(state, radius));
        linkage_ms.push(millis(clock));
        if options.n <= 20_000 {
            let clock = Instant::now();
            let groups = reference::linkage_groups(state, radius);
            std::hint::black_box(
                groups
                    .iter()
                    .map(|g| reference::widest_chord_sq(state, g))
                    .fold(0.0, f64::max),
            );
            all_pairs_ms.push(millis(clock));
        }
    }
    let with_checks = median(with_checks);
    let without_checks = median(without_checks);
    println!(
        "{{\"n\": {}, \"dim\": {}, \"beta\": {}, \"check_every\": {}, \"steps\": {}, \
         \"reps\": {}, \"step_ms_with_checks\": {:.3}, \"step_ms_without_checks\": {:.3}, \
         \"checks_share\": {:.4}, \"energy_ms\": {:.3}, \"counting_ms\": {:.3}, \
         \"linkage_ms\": {:.3}, \"all_pairs_counting_ms\": {}, \"clusters\": {}, \"first_check_ms\": {:.1}, \
         \"pairs_per_s_without_checks\": {:.4e}}}",
        options.n,
        options.dim,
        options.beta,
        options.check_every,
        options.steps,
        options.reps,
        with_checks,
        without_checks,
        with_checks / without_checks - 1.0,
        median(energy_ms),
        median(counting_ms),
        median(linkage_ms),
        if all_pairs_ms.is_empty() {
            "null".to_string()
        } else {
            format!("{:.3}", median(all_pairs_ms))
        },
        clusters,
        first_check_ms,
        (options.n * options.n) as f64 / (without_checks * 1e-3),
    );
}

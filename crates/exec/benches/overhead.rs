//! Executor overhead: 10,000 tiny tasks (n = 8, 10 steps) planned, run and committed into a
//! fresh store, against the same tasks simulated directly (the baseline) in the same process;
//! then a second run (all cache hits) and the state of every task (what `status` reads).
//!
//! `cargo bench -p sphereflow-exec --bench overhead [-- TASKS]`
#![allow(missing_docs)]

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use sphereflow_exec::{run, task_state, RunOptions, Store, TaskState};
use sphereflow_plan::{Plan, PlanOptions, Sweep};
use sphereflow_solver::{simulate, Par, Problem};

fn main() {
    let tasks: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let text = format!(
        "[model]\nparticles = 8\n[stop]\nmax_steps = 10\ndrift_tol = 0\n\
         [grid]\ninit.seed = {{ range = [0, {tasks}] }}\n"
    );
    let started = Instant::now();
    let sweep = Sweep::parse(&text, "overhead.toml", Path::new("."), "overhead").unwrap();
    let plan = Plan::new(sweep, &PlanOptions::default()).unwrap();
    let planning = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for task in &plan.tasks {
        let resolved = plan.resolve(task).unwrap();
        let problem = Problem::new(resolved.params, resolved.initial, resolved.perceptron).unwrap();
        std::hint::black_box(simulate(&problem, Par::Seq).unwrap());
    }
    let direct = started.elapsed().as_secs_f64();

    // The store lives where SPHEREFLOW_BENCH_DIR says (default: the system temporary folder).
    let dir = match std::env::var_os("SPHEREFLOW_BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let store = Store::open(&dir.path().join("store")).unwrap();
    let options = RunOptions::default();
    let interrupt = AtomicBool::new(false);
    let started = Instant::now();
    let report = run(&plan, &store, &options, &|_| {}, &interrupt).unwrap();
    let executed = started.elapsed().as_secs_f64();
    assert_eq!(report.committed, tasks);

    let started = Instant::now();
    let again = run(&plan, &store, &options, &|_| {}, &interrupt).unwrap();
    let cached = started.elapsed().as_secs_f64();
    assert_eq!(again.cached, tasks);

    let started = Instant::now();
    let done = plan
        .tasks
        .iter()
        .filter(|t| task_state(&store, &t.id) == TaskState::Cached)
        .count();
    let status = started.elapsed().as_secs_f64();
    assert_eq!(done, tasks);

    let jobs = options.jobs as f64;
    println!("tasks                     {tasks}");
    println!("planning                  {planning:.3} s");
    println!(
        "direct (1 thread)         {direct:.3} s  ({:.0} tasks/s)",
        tasks as f64 / direct
    );
    println!(
        "run, cold store (-j {})    {executed:.3} s  ({:.0} tasks/s)",
        options.jobs,
        tasks as f64 / executed
    );
    println!(
        "overhead per task         {:.3} ms  (run × jobs − direct, per task)",
        (executed * jobs - direct) / tasks as f64 * 1e3
    );
    println!(
        "run, all cached           {cached:.3} s  ({:.0} tasks/s)",
        tasks as f64 / cached
    );
    println!("status of every task      {status:.3} s");
}

//! What the proptest fuzzing of checkpoints (`tests/fuzz_checkpoints.rs`) and the `cargo fuzz`
//! target (`fuzz/fuzz_targets/checkpoint_read.rs`) share: a small task in a store, a valid
//! checkpoint of it to mutate, and the check that any bytes in its checkpoint file are either
//! refused or, once accepted against the task, resume and finish without a panic.

use std::path::Path;

use sphereflow_exec::resume::checkpoint_problem;
use sphereflow_exec::store::{Checkpoint, CheckpointRead, Store};
use sphereflow_plan::{Plan, PlanOptions, Sweep, TaskId};
use sphereflow_solver::{Par, Problem, Simulation, SOLVER_REV};

/// A task of 8 particles on S^2 and a store to hold its checkpoint.
pub struct Bench {
    /// The store (in a temporary folder kept for the process).
    pub store: Store,
    /// The task.
    pub id: TaskId,
    /// What the task computes.
    pub problem: Problem,
}

/// Makes the task and its store.
pub fn bench() -> Bench {
    let text = "[model]\ndim = 3\nparticles = 8\n[stop]\nmax_steps = 60\ncheck_every = 5\n";
    let sweep = Sweep::parse(text, "fuzz.toml", Path::new("."), "fuzz").expect("a sweep");
    let plan = Plan::new(sweep, &PlanOptions::default()).expect("a plan");
    let task = &plan.tasks[0];
    let resolved = plan.resolve(task).expect("a valid task");
    let problem =
        Problem::new(resolved.params, resolved.initial, resolved.perceptron).expect("a problem");
    let dir = tempfile::tempdir().expect("a temporary folder").keep();
    Bench {
        store: Store::open(&dir).expect("a store"),
        id: task.id,
        problem,
    }
}

/// A checkpoint of the task after `steps` steps, as the runner writes it.
pub fn valid_checkpoint(bench: &Bench, steps: u64) -> Vec<u8> {
    let mut simulation = Simulation::start(&bench.problem);
    simulation
        .advance(&bench.problem, steps, Par::Seq)
        .expect("a short run");
    let checkpoint = Checkpoint {
        task_id: bench.id.to_hex(),
        solver_rev: SOLVER_REV,
        runtime_s: 0.5,
        started: "2026-12-02T00:00:00Z".into(),
        simulation,
    };
    serde_json::to_vec(&checkpoint).expect("plain data")
}

/// Writes `bytes` as the task's checkpoint and reads it as the runner does: refused as
/// unreadable or not of this task, or resumed and run to its end. Panics only if a checkpoint
/// accepted against the task makes the solver panic.
pub fn check_checkpoint(bench: &Bench, bytes: &[u8]) -> bool {
    let path = bench
        .store
        .root()
        .join("checkpoints")
        .join(format!("{}.json", bench.id));
    std::fs::write(&path, bytes).expect("a checkpoint file");
    let CheckpointRead::Found(checkpoint) = bench.store.read_checkpoint(&bench.id, SOLVER_REV)
    else {
        return false;
    };
    if checkpoint_problem(&checkpoint.simulation, &bench.problem).is_some() {
        return false;
    }
    let mut simulation = checkpoint.simulation;
    if let Ok(Some(_)) = simulation.advance(&bench.problem, 1000, Par::Seq) {
        let result = simulation.finish(&bench.problem);
        assert!(
            !result.final_state.masses.is_empty(),
            "a result without atoms"
        );
        assert!(result.summary.steps <= bench.problem.params.stop.max_steps);
    }
    true
}

//! The executor against a real store: resumed tasks equal uninterrupted ones bit for bit,
//! sweeps run as one queue compute each task once,
//! corrupt objects are found (also by the one-pass verified read) and recomputed, failures are isolated, concurrent runners compute
//! each task once, shards partition a sweep, and `gc` cleans what killed runs leave.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sphereflow_exec::{
    cost_model, gc, run, run_many, task_result, task_state, Event, RunOptions, Shard, Store,
    TaskState,
};
use sphereflow_plan::{Plan, PlanOptions, Sweep};

fn plan(text: &str) -> Plan {
    let sweep = Sweep::parse(text, "test.toml", Path::new("."), "test").unwrap();
    Plan::new(sweep, &PlanOptions::default()).unwrap()
}

fn options(jobs: usize) -> RunOptions {
    RunOptions {
        jobs,
        checkpoint_every: Duration::from_millis(50),
        lease_ttl: Duration::from_secs(5),
        poll: Duration::from_millis(20),
        ..RunOptions::default()
    }
}

/// Every file of an object that must be identical between two computations of a task, with
/// the summary's runtime and provenance left out.
fn result_bytes(store: &Store, plan: &Plan) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for task in &plan.tasks {
        let dir = store.object_dir(&task.id);
        for name in ["final.npy", "series.json", "frames.npy"] {
            out.insert(
                format!("{}/{name}", task.id),
                std::fs::read(dir.join(name)).unwrap(),
            );
        }
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        let kept = serde_json::json!({
            "spec": summary["spec"],
            "clusters": summary["clusters"],
            "summary": summary["summary"],
            "frames": summary["frames"],
            "solver_rev": summary["solver_rev"],
        });
        out.insert(
            format!("{}/summary", task.id),
            serde_json::to_vec(&kept).unwrap(),
        );
    }
    out
}

const SWEEP: &str = "[model]\nparticles = 300\n[integrator]\npair_kernel = \"direct\"\n\
                     [stop]\nmax_steps = 20000\ndrift_tol = 0\n\
                     [grid]\nmodel.beta = [1, 9]\nperceptron.activation = [\"relu\", \"none\"]\n";

#[test]
fn a_resumed_task_equals_the_uninterrupted_task_bit_for_bit() {
    let plan = plan(SWEEP);
    let reference = tempfile::tempdir().unwrap();
    let reference = Store::open(reference.path()).unwrap();
    let never = AtomicBool::new(false);
    let report = run(&plan, &reference, &options(2), &|_| {}, &never).unwrap();
    assert_eq!(report.committed, 4);

    // Interrupt as soon as a checkpoint exists, then resume (with another thread count).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let interrupt = AtomicBool::new(false);
    let checkpointed = Mutex::new(Vec::new());
    let sink = |event: &Event| {
        if let Event::Checkpointed { id, step } = event {
            checkpointed.lock().unwrap().push((id.clone(), *step));
            interrupt.store(true, Ordering::SeqCst);
        }
    };
    let first = run(&plan, &store, &options(1), &sink, &interrupt).unwrap();
    assert!(first.interrupted);
    assert!(first.remaining > 0);
    assert!(!checkpointed.lock().unwrap().is_empty());
    let resumed_steps = Mutex::new(Vec::new());
    let sink = |event: &Event| {
        if let Event::Started {
            resumed_from_step: Some(step),
            ..
        } = event
        {
            resumed_steps.lock().unwrap().push(*step);
        }
    };
    let second = run(&plan, &store, &options(2), &sink, &never).unwrap();
    assert!(!second.interrupted);
    assert_eq!(second.committed + second.cached, 4);
    assert!(
        resumed_steps.lock().unwrap().iter().any(|&s| s > 0),
        "a task resumed from its checkpoint"
    );
    assert_eq!(result_bytes(&store, &plan), result_bytes(&reference, &plan));
    // Nothing is left but the objects: no checkpoint, lease or temporary.
    for folder in ["checkpoints", "leases", "tmp"] {
        let left: Vec<_> = std::fs::read_dir(dir.path().join(folder))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{folder}: {left:?}");
    }
}

#[test]
fn corrupt_objects_are_detected_and_exactly_they_are_recomputed() {
    let plan = plan(SWEEP);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let never = AtomicBool::new(false);
    run(&plan, &store, &options(2), &|_| {}, &never).unwrap();
    let before = result_bytes(&store, &plan);

    let truncated = plan.tasks[0].id;
    let flipped = plan.tasks[1].id;
    let path = store.object_dir(&truncated).join("final.npy");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let path = store.object_dir(&flipped).join("series.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x04;
    std::fs::write(&path, bytes).unwrap();

    for id in [truncated, flipped] {
        assert!(
            matches!(task_state(&store, &id), TaskState::Corrupt { .. }),
            "{:?}",
            task_state(&store, &id)
        );
        // Read and verified in one pass: no result from a corrupt object, the same state.
        let (state, result) = task_result(&store, &id).unwrap();
        assert!(matches!(state, TaskState::Corrupt { .. }), "{state:?}");
        assert!(result.is_none());
    }
    // An intact object reads back as `load` reads it, from the bytes that were verified.
    for task in &plan.tasks[2..] {
        let (state, result) = task_result(&store, &task.id).unwrap();
        assert_eq!(state, TaskState::Cached);
        assert_eq!(result.unwrap(), store.load(&task.id).unwrap());
    }
    let recomputed = Mutex::new(Vec::new());
    let sink = |event: &Event| {
        if let Event::Finished { id, .. } = event {
            recomputed.lock().unwrap().push(id.clone());
        }
    };
    let report = run(&plan, &store, &options(2), &sink, &never).unwrap();
    assert_eq!(report.committed, 2);
    assert_eq!(report.cached, 2);
    let mut recomputed = recomputed.into_inner().unwrap();
    recomputed.sort();
    let mut expected = vec![truncated.to_hex(), flipped.to_hex()];
    expected.sort();
    assert_eq!(recomputed, expected);
    assert_eq!(result_bytes(&store, &plan), before);
}

#[test]
fn a_failing_task_is_recorded_and_the_others_finish() {
    // dt = 50 at β = 10 makes the step jump past the sphere's half circumference.
    let plan = plan(
        "[model]\nparticles = 30\nbeta = 10\n[stop]\nmax_steps = 200\n\
         [grid]\nintegrator.dt = [0.1, 50, 0.05]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let never = AtomicBool::new(false);
    let report = run(&plan, &store, &options(2), &|_| {}, &never).unwrap();
    assert_eq!(report.committed, 2);
    assert_eq!(report.failed.len(), 1);
    let failed = plan.tasks[1].id;
    assert_eq!(report.failed[0].0, failed.to_hex());
    assert!(
        report.failed[0].1.contains("step"),
        "{}",
        report.failed[0].1
    );
    let TaskState::Failed { reason } = task_state(&store, &failed) else {
        panic!("{:?}", task_state(&store, &failed))
    };
    assert!(reason.contains("step"), "{reason}");
    // Not retried unless asked.
    let again = run(&plan, &store, &options(2), &|_| {}, &never).unwrap();
    assert_eq!((again.cached, again.failed_before.len()), (2, 1));
    let retry = RunOptions {
        retry_failed: true,
        ..options(2)
    };
    let retried = run(&plan, &store, &retry, &|_| {}, &never).unwrap();
    assert_eq!(retried.failed.len(), 1);
    // The failure budget stops new tasks.
    let fresh = tempfile::tempdir().unwrap();
    let fresh = Store::open(fresh.path()).unwrap();
    let budget = RunOptions {
        max_failures: Some(1),
        ..options(1)
    };
    let bad_first = self::plan(
        "[model]\nparticles = 30\nbeta = 10\n[stop]\nmax_steps = 200\n\
         [grid]\nintegrator.dt = [50, 60, 0.1]\n",
    );
    let report = run(&bad_first, &fresh, &budget, &|_| {}, &never).unwrap();
    assert!(report.failure_budget_spent);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.remaining, 2);
}

#[test]
fn concurrent_runners_compute_every_task_exactly_once() {
    let plan = plan(
        "[model]\nparticles = 30\n[stop]\nmax_steps = 600\ndrift_tol = 0\n\
         [grid]\ninit.seed = { range = [0, 16] }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let never = AtomicBool::new(false);
    let finished = Mutex::new(Vec::new());
    let sink = |event: &Event| {
        if let Event::Finished { id, .. } = event {
            finished.lock().unwrap().push(id.clone());
        }
    };
    let reports: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| run(&plan, &store, &options(2), &sink, &never).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut finished = finished.into_inner().unwrap();
    finished.sort();
    let before = finished.len();
    finished.dedup();
    assert_eq!(before, finished.len(), "a task was computed twice");
    assert_eq!(finished.len(), 16);
    let committed: usize = reports.iter().map(|r| r.committed).sum();
    assert_eq!(committed, 16);
    for task in &plan.tasks {
        assert_eq!(task_state(&store, &task.id), TaskState::Cached);
    }
}

#[test]
fn sweeps_run_as_one_queue_compute_each_task_once_with_the_same_results() {
    // Two sweeps sharing the tasks of seeds 2 and 3, and a mean-field task in the second.
    let first = plan(
        "[model]\nparticles = 40\n[stop]\nmax_steps = 400\ndrift_tol = 0\n\
         [grid]\ninit.seed = { range = [0, 4] }\n",
    );
    let second = plan(
        "[model]\nparticles = 40\n[stop]\nmax_steps = 400\ndrift_tol = 0\n\
         [meanfield]\ncells = 64\nt_end = 1\nsnapshots = 2\n\
         [grid]\nmodel.solver = [\"particles\", \"meanfield\"]\ninit.seed = { range = [2, 6] }\n\
         [[grid.exclude]]\nmodel.solver = \"meanfield\"\ninit.seed = [3, 4, 5]\n",
    );
    let shared: Vec<_> = first
        .tasks
        .iter()
        .filter(|t| second.tasks.iter().any(|u| u.id == t.id))
        .map(|t| t.id)
        .collect();
    assert_eq!(shared.len(), 2);
    let unique = first.tasks.len() + second.tasks.len() - shared.len();
    let never = AtomicBool::new(false);

    let together = tempfile::tempdir().unwrap();
    let store = Store::open(together.path()).unwrap();
    let finished = Mutex::new(Vec::new());
    let planned = Mutex::new(Vec::new());
    let sink = |event: &Event| match event {
        Event::Finished { id, .. } => finished.lock().unwrap().push(id.clone()),
        Event::Planned { sweep, tasks, .. } => {
            planned.lock().unwrap().push((sweep.clone(), *tasks))
        }
        _ => {}
    };
    let report = run_many(&[&first, &second], &store, &options(2), &sink, &never).unwrap();
    let mut finished = finished.into_inner().unwrap();
    finished.sort();
    let before = finished.len();
    finished.dedup();
    assert_eq!(before, finished.len(), "a task was computed twice");
    assert_eq!(finished.len(), unique);
    assert_eq!(report.tasks, unique);
    assert_eq!(report.committed, unique);
    assert_eq!(report.remaining, 0);
    // Each sweep is planned on its own: the second counts only what the first did not queue.
    assert_eq!(
        planned.into_inner().unwrap(),
        vec![
            ("test".to_string(), first.tasks.len()),
            ("test".to_string(), second.tasks.len() - shared.len())
        ]
    );

    // The same objects as two runs one after the other.
    let apart = tempfile::tempdir().unwrap();
    let separate = Store::open(apart.path()).unwrap();
    run(&first, &separate, &options(2), &|_| {}, &never).unwrap();
    run(&second, &separate, &options(2), &|_| {}, &never).unwrap();
    for plan in [&first, &second] {
        assert_eq!(result_bytes(&store, plan), result_bytes(&separate, plan));
    }
    // Running both again finds everything cached.
    let again = run_many(&[&first, &second], &store, &options(2), &|_| {}, &never).unwrap();
    assert_eq!((again.cached, again.committed), (unique, 0));
}

#[test]
fn shards_partition_a_sweep() {
    let plan = plan("[model]\nparticles = 10\n[stop]\nmax_steps = 20\n[grid]\ninit.seed = { range = [0, 40] }\n");
    let mut seen = std::collections::BTreeSet::new();
    for index in 1..=3 {
        let shard = Shard::parse(&format!("{index}/3")).unwrap();
        for task in plan.tasks.iter().filter(|t| shard.contains(&t.id)) {
            assert!(seen.insert(task.id), "in two shards");
        }
    }
    assert_eq!(seen.len(), 40);
    for bad in ["0/3", "4/3", "1", "a/b"] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn gc_removes_orphans_and_keeps_objects() {
    let plan =
        plan("[model]\nparticles = 10\n[stop]\nmax_steps = 20\n[grid]\ninit.seed = [1, 2]\n");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let never = AtomicBool::new(false);
    run(&plan, &store, &options(1), &|_| {}, &never).unwrap();
    // What a killed process (pid 999999 does not exist) leaves behind.
    let host = sphereflow_exec::provenance::host_name().replace('.', "_");
    let orphan = dir
        .path()
        .join(format!("tmp/commit.{}.{host}.999999.1.0", plan.tasks[0].id));
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("final.npy"), b"half").unwrap();
    let lease = serde_json::json!({
        "holder": "gone", "host": sphereflow_exec::provenance::host_name(), "pid": 999999,
        "slurm": null, "started_ms": 0, "heartbeat_ms": 0, "ttl_ms": 60000
    });
    std::fs::write(
        dir.path()
            .join(format!("leases/{}.lease", plan.tasks[1].id)),
        lease.to_string(),
    )
    .unwrap();
    let report = gc(&store).unwrap();
    assert_eq!((report.temporaries, report.leases), (1, 1));
    assert!(!orphan.exists());
    for task in &plan.tasks {
        assert_eq!(task_state(&store, &task.id), TaskState::Cached);
    }
}

/// Processes that open one new store at once: whichever creates it, none mistakes the folders
/// the others already use for a store whose layout file was lost.
#[test]
fn a_store_opened_by_many_at_once_is_one_new_store() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let opened: Vec<bool> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let root = root.clone();
                    scope.spawn(move || {
                        let store = Store::open(&root)?;
                        // Use the store at once, as a runner does: a lease in `leases/`.
                        std::fs::write(root.join("leases").join(format!("t{i}.lease")), b"x")
                            .unwrap();
                        Ok::<Store, sphereflow_exec::ExecError>(store)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().is_ok())
                .collect()
        });
        assert!(opened.iter().all(|ok| *ok), "{opened:?}");
    }
}

/// What progress displays weigh a step by: the pair pass the solver takes. A million particles
/// on S^1 take the spectral path (about n (K + 1) weights, not n²/2), so the first such task to
/// finish does not make the rest of a sweep look a million times cheaper than it is.
#[test]
fn the_cost_model_weighs_a_step_by_the_pair_pass_the_solver_takes() {
    let sweep = plan(
        r#"
[sweep]
name = "costs"
[model]
beta = 5.0
[stop]
max_steps = 300
[grid]
model.particles = [1000, 1000000]
model.dim = [2, 3]
"#,
    );
    let cost = |particles: i64, dim: i64| {
        let task = sweep
            .tasks
            .iter()
            .find(|t| {
                sweep.value(t, "model.particles") == Some(sphereflow_plan::Typed::Int(particles))
                    && sweep.value(t, "model.dim") == Some(sphereflow_plan::Typed::Int(dim))
            })
            .unwrap();
        let cost = cost_model(&sweep, task);
        assert!(cost.stopping_rule, "{cost:?}");
        (cost.per_step, cost.max_steps)
    };
    // S^2 and small S^1 runs: every pair once.
    assert_eq!(cost(1000, 3), (0.5e6, 300));
    assert_eq!(cost(1_000_000, 3), (0.5e12, 300));
    // A million particles on S^1: the spectral path, a few dozen modes per particle.
    let (spectral, cap) = cost(1_000_000, 2);
    assert_eq!(cap, 300);
    assert!(spectral > 1e6 && spectral < 1e9, "{spectral}");
    let (small, _) = cost(1000, 2);
    assert!(small <= 0.5e6, "{small}");
}

/// A step costs one pair pass per field evaluation of its integrator, a fixed step reaches
/// `stop.t_max` after `t_max / dt` steps, and `stop.drift_tol = 0` means no stopping rule.
#[test]
fn the_cost_model_counts_field_evaluations_the_time_cap_and_the_stopping_rule() {
    let sweep = plan(
        r#"
[sweep]
name = "integrators"
[model]
dim = 3
particles = 100
[stop]
max_steps = 1000
t_max = 5
[integrator]
dt = 0.05
[grid]
integrator.method = ["euler", "rk2", "rk4", "adaptive"]
stop.drift_tol = [0.0, 1e-4]
"#,
    );
    for task in &sweep.tasks {
        let method = match sweep.value(task, "integrator.method") {
            Some(sphereflow_plan::Typed::Text(m)) => m,
            other => panic!("{other:?}"),
        };
        let cost = cost_model(&sweep, task);
        let (evaluations, cap) = match method.as_str() {
            "euler" => (1.0, 100),
            "rk2" => (2.0, 100),
            "rk4" => (4.0, 100),
            // Its steps vary: only the step cap bounds them.
            "adaptive" => (6.0, 1000),
            other => panic!("{other}"),
        };
        assert_eq!(cost.per_step, 0.5e4 * evaluations, "{method}");
        assert_eq!(cost.max_steps, cap, "{method}");
        let rule = sweep.value(task, "stop.drift_tol") != Some(sphereflow_plan::Typed::Float(0.0));
        assert_eq!(cost.stopping_rule, rule, "{method}");
    }
}

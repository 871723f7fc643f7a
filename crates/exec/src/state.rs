//! A task's state in a store (cached, stale, corrupt, failed, running, pending), the one-line
//! detail each state gives, and the counts over a plan: what `plan`, `status` and the runner
//! all read the same way.

use std::collections::BTreeMap;

use sphereflow_plan::{Plan, Task, TaskId};
use sphereflow_solver::SOLVER_REV;

use crate::error::ExecError;
use crate::lease::{self, Lease};
use crate::store::{ObjectState, Store, StoredResult};

/// Every state name, in the order counts list them.
pub const STATE_NAMES: &[&str] = &[
    "cached", "stale", "corrupt", "blocked", "failed", "running", "pending",
];

/// A task's state in a store.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskState {
    /// Committed by this solver revision.
    Cached,
    /// Committed by another solver revision: will be recomputed.
    Stale {
        /// The revision that computed it.
        solver_rev: u32,
    },
    /// An object that fails verification: will be recomputed.
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// Kept from running by an entry of the wrong kind in the store (a folder where its lease
    /// goes): reported by every command, waited on by none.
    Blocked {
        /// Which entry, and what it is.
        reason: String,
    },
    /// Failed (recorded reason).
    Failed {
        /// Why.
        reason: String,
    },
    /// Leased by a runner.
    Running(Lease),
    /// Not computed.
    Pending,
}

impl TaskState {
    /// `cached`, `stale`, `corrupt`, `failed`, `running` or `pending`.
    pub fn name(&self) -> &'static str {
        match self {
            TaskState::Cached => "cached",
            TaskState::Stale { .. } => "stale",
            TaskState::Corrupt { .. } => "corrupt",
            TaskState::Blocked { .. } => "blocked",
            TaskState::Failed { .. } => "failed",
            TaskState::Running(_) => "running",
            TaskState::Pending => "pending",
        }
    }
}

/// A task's state and, when it is cached, its result, read and verified in one pass (each file
/// is read once, and the result parsed from the bytes whose checksums matched).
///
/// # Errors
/// A cached object whose files match their checksums but do not parse.
pub fn task_result(
    store: &Store,
    id: &TaskId,
) -> Result<(TaskState, Option<StoredResult>), ExecError> {
    let (object, result) = store.load_verified(id, SOLVER_REV)?;
    Ok((state_of(store, id, object), result))
}

/// A task's state: its object first, then an entry of the wrong kind, then a live lease, then a
/// recorded failure.
pub fn task_state(store: &Store, id: &TaskId) -> TaskState {
    state_of(store, id, store.inspect(id))
}

/// A task's state given what the store holds in its object's place.
fn state_of(store: &Store, id: &TaskId, object: ObjectState) -> TaskState {
    match object {
        ObjectState::Ok { solver_rev } if solver_rev == SOLVER_REV => return TaskState::Cached,
        ObjectState::Ok { solver_rev } => return TaskState::Stale { solver_rev },
        ObjectState::Corrupt { reason } => return TaskState::Corrupt { reason },
        ObjectState::Missing => {}
    }
    if let Some(reason) = store.wrong_kind(id) {
        return TaskState::Blocked { reason };
    }
    if let Some(lease) = lease::read(store, id).filter(|l| !l.is_expired(lease::now_ms())) {
        return TaskState::Running(lease);
    }
    match store.failure(id) {
        Some(record) => TaskState::Failed {
            reason: record.reason,
        },
        None => TaskState::Pending,
    }
}

/// A task's axis values, `beta=10 activation=relu`: each parameter by its key, the two seeds as
/// `init_seed` and `perceptron_seed` (their key alone would be ambiguous).
pub fn label(plan: &Plan, task: &Task) -> String {
    plan.coordinates(task)
        .iter()
        .map(|(path, value)| {
            let key = match *path {
                "init.seed" => "init_seed",
                "perceptron.seed" => "perceptron_seed",
                path => path.split('.').nth(1).unwrap_or(path),
            };
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The state of every task of a plan (all pending without a store).
pub fn task_states(plan: &Plan, store: Option<&Store>) -> Vec<TaskState> {
    plan.tasks
        .iter()
        .map(|task| match store {
            Some(store) => task_state(store, &task.id),
            None => TaskState::Pending,
        })
        .collect()
}

/// Counts of each state name, with every name present.
pub fn counts(states: &[TaskState]) -> BTreeMap<&'static str, usize> {
    let mut counts: BTreeMap<&'static str, usize> =
        STATE_NAMES.iter().map(|&name| (name, 0)).collect();
    for state in states {
        *counts.entry(state.name()).or_default() += 1;
    }
    counts
}

impl TaskState {
    /// What a state says beyond its name: why it failed or is corrupt, which revision computed
    /// a stale result, who holds a running task.
    pub fn detail(&self) -> Option<String> {
        match self {
            TaskState::Stale { solver_rev } => Some(format!(
                "computed by solver revision {solver_rev}, now {SOLVER_REV}"
            )),
            TaskState::Corrupt { reason } | TaskState::Blocked { reason } => Some(reason.clone()),
            TaskState::Failed { reason } => Some(reason.clone()),
            TaskState::Running(lease) => Some(format!(
                "held by {}, heartbeat {:.0} s ago (runner {})",
                where_held(lease),
                lease.age_s(lease::now_ms()),
                lease.holder,
            )),
            TaskState::Cached | TaskState::Pending => None,
        }
    }
}

/// The ids of the tasks a store knows (a result, a failure record, a checkpoint or a lease)
/// that start with `prefix` (lower-case hex digits), sorted: what `sphereflow show` resolves a
/// short id against. Entries whose names are not task ids are ignored.
pub fn ids_with_prefix(store: &Store, prefix: &str) -> Vec<TaskId> {
    let root = store.root();
    let mut found = std::collections::BTreeSet::new();
    let mut look = |dir: std::path::PathBuf, suffix: &str| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(suffix)) else {
                continue;
            };
            if hex.starts_with(prefix) && TaskId::from_hex(hex).is_some_and(|id| id.to_hex() == hex)
            {
                found.insert(hex.to_string());
            }
        }
    };
    // Objects live under their id's first two digits; a shorter prefix looks in every such
    // folder it can start.
    if let Ok(shards) = std::fs::read_dir(root.join("objects")) {
        for shard in shards.flatten() {
            let name = shard.file_name().to_string_lossy().into_owned();
            if name.len() == 2 && (name.starts_with(prefix) || prefix.starts_with(&name)) {
                look(shard.path(), "");
            }
        }
    }
    look(root.join("failed"), ".json");
    look(root.join("checkpoints"), ".json");
    look(root.join("leases"), ".lease");
    found
        .into_iter()
        .filter_map(|hex| TaskId::from_hex(&hex))
        .collect()
}

/// Where a lease's holder runs: `Slurm element 12_3 on node7 (pid 4242)` or `node7 (pid 4242)`.
pub fn where_held(lease: &Lease) -> String {
    match &lease.slurm {
        Some(element) => format!(
            "Slurm element {element} on {} (pid {})",
            lease.host, lease.pid
        ),
        None => format!("{} (pid {})", lease.host, lease.pid),
    }
}

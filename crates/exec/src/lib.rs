//! The sphereflow executor: runs a plan's tasks against a content-addressed store.
//!
//! - [`store`]: the store's layout, verified objects, atomic commits, checkpoints, failures;
//! - [`lease`]: claims on tasks by `O_EXCL` lease files with heartbeats and takeover;
//! - [`runner`]: the parallel scheduler (rayon), longest first, with checkpoints and failure
//!   isolation;
//! - [`events`]: what a run reports (the command line draws it) and the JSON-lines event log;
//! - [`gc`]: removal of what killed runs leave behind;
//! - [`shell`]: command lines quoted for a shell;
//! - [`state`]: a task's state in a store, its detail, counts over a plan;
//! - [`slurm`]: job arrays of workers: their scripts, checked, and their submission.
//!
//! Nothing here prints or draws; the executor knows nothing about Parquet or progress bars.

pub mod error;
pub mod events;
pub mod gc;
pub mod lease;
pub mod provenance;
pub mod resume;
pub mod runner;
pub mod shell;
pub mod slurm;
pub mod state;
pub mod store;

pub use error::ExecError;
pub use events::Event;
pub use gc::{gc, GcReport};
pub use lease::Lease;
pub use runner::{cost_model, run, run_many, Report, RunOptions, Shard, TaskCost, MAX_JOBS};
pub use state::{counts, label, task_result, task_state, task_states, TaskState};
pub use store::{write_atomic, ObjectState, Store, StoredResult};

//! Errors of the paper crate.

use thiserror::Error;

/// What can go wrong.
#[derive(Debug, Error)]
pub enum PaperError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] sphereflow_exec::ExecError),
    /// A task of the plan no longer resolves (a file input changed since planning).
    #[error("task {task}: cannot resolve its parameters")]
    Resolve {
        /// The task id.
        task: String,
        /// The cause.
        source: sphereflow_plan::PlanError,
    },
    /// A task's parameters the solver refuses.
    #[error("task {task}: the solver refuses its parameters")]
    Problem {
        /// The task id.
        task: String,
        /// The cause.
        source: sphereflow_solver::SolverError,
    },
}

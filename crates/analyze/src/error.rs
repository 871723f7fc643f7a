//! Errors of the analyzer.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong.
#[derive(Debug, Error)]
pub enum AnalyzeError {
    /// A folder could not be created.
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A table's columns do not make an Arrow record batch.
    #[error("table {table}: cannot build its record batch")]
    Arrow {
        /// The table.
        table: String,
        /// The cause.
        source: arrow::error::ArrowError,
    },
    /// A table could not be encoded as Parquet.
    #[error("{}: cannot encode as Parquet", path.display())]
    Parquet {
        /// The file it was for.
        path: PathBuf,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
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
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] sphereflow_exec::ExecError),
}

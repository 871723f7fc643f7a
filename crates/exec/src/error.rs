//! Errors of the executor.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong outside a task (a task's own failure is recorded, not returned).
#[derive(Debug, Error)]
pub enum ExecError {
    /// A file or folder of the store could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A store file that does not parse.
    #[error("{}: corrupt: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A folder that is a store of another layout.
    #[error("{}: a store of layout {found:?}, this sphereflow writes {}", path.display(), crate::store::STORE_LAYOUT)]
    Layout {
        /// The layout file.
        path: PathBuf,
        /// What it says.
        found: String,
    },
    /// A bad option.
    #[error("{option}: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A Slurm command that failed or did not answer as expected.
    #[error("{command}: {reason}")]
    Slurm {
        /// The command, as typed.
        command: String,
        /// What went wrong.
        reason: String,
    },
}

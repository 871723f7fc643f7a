//! Errors of the executor.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong outside a task (a task's own failure is recorded, not returned).
#[derive(Debug, Error)]
pub enum ExecError {
    /// A file or folder of the store could not be read or written.
    #[error("{}", path.display())]
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
    #[error("{}: a store of layout {found:?}, this sphereflow writes {expected}", path.display())]
    Layout {
        /// The layout file.
        path: PathBuf,
        /// What it says.
        found: String,
        /// The layout this sphereflow writes.
        expected: &'static str,
    },
    /// A store in a state no command may work on (its layout file missing from a folder that
    /// holds results, an entry of the wrong kind), naming the entry.
    #[error("{}: {reason}", path.display())]
    Damaged {
        /// The entry.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
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

/// An error and its causes, `error: cause: cause`, each once: for messages that are stored or
/// shown as one line (failure records, events) rather than printed through `{:#}`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors (thiserror's `transparent`) print their cause as themselves.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_each_cause_once() {
        let error = ExecError::Io {
            path: "/store/objects".into(),
            source: std::io::Error::from_raw_os_error(13),
        };
        let text = chain(&error);
        assert!(text.starts_with("/store/objects: "), "{text}");
        assert_eq!(text.matches("os error 13").count(), 1, "{text}");
    }
}

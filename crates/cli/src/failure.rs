//! How a command fails, which decides the exit code `main` gives: every command returns it.

/// How a command failed: decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: exit code 2, nothing written.
    Input(anyhow::Error),
    /// The run itself failed, or some of its tasks did: exit code 1.
    Run(anyhow::Error),
    /// Interrupted by Ctrl-C or a signal, committed work kept: exit code 130.
    Interrupted,
}

impl Failure {
    /// Bad input.
    pub fn input(error: impl Into<anyhow::Error>) -> Failure {
        Failure::Input(error.into())
    }

    /// A failed run.
    pub fn run(error: impl Into<anyhow::Error>) -> Failure {
        Failure::Run(error.into())
    }
}

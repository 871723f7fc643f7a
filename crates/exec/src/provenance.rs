//! Where, when and by what a result was computed.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Recorded with every result and failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// sphereflow's version.
    pub sphereflow_version: String,
    /// The solver's numerical revision.
    pub solver_rev: u32,
    /// The git commit of the build, when built from a checkout (`-dirty` with local changes).
    pub git_commit: Option<String>,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The runner that computed it.
    pub holder: String,
    /// Slurm array job and element, when run by one.
    pub slurm: Option<String>,
    /// Threads available to the run.
    pub threads: usize,
    /// When this computation started (RFC 3339, UTC; the first session's start if resumed).
    pub started: String,
    /// When it ended.
    pub finished: String,
}

/// This machine's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The Slurm array job and element this process runs in, if any (`job_element`).
pub fn slurm_element() -> Option<String> {
    let job = std::env::var("SLURM_ARRAY_JOB_ID")
        .or_else(|_| std::env::var("SLURM_JOB_ID"))
        .ok()?;
    Some(match std::env::var("SLURM_ARRAY_TASK_ID") {
        Ok(element) => format!("{job}_{element}"),
        Err(_) => job,
    })
}

/// A time as RFC 3339 (UTC, seconds).
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// The git commit this binary was built from (`-dirty` when the checkout had changes), when it
/// was built from a checkout.
pub fn git_commit() -> Option<&'static str> {
    option_env!("SPHEREFLOW_GIT_COMMIT")
}

impl Provenance {
    /// Provenance of a computation by `holder` with `threads` threads between two times.
    pub fn new(holder: &str, threads: usize, started: SystemTime, finished: SystemTime) -> Self {
        Provenance {
            sphereflow_version: env!("CARGO_PKG_VERSION").into(),
            solver_rev: sphereflow_solver::SOLVER_REV,
            git_commit: git_commit().map(str::to_string),
            host: host_name(),
            pid: std::process::id(),
            holder: holder.into(),
            slurm: slurm_element(),
            threads,
            started: rfc3339(started),
            finished: rfc3339(finished),
        }
    }
}

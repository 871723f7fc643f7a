//! The event stream of a run: the library reports, the command line draws.
//!
//! Every event is also appended to `<store>/events.jsonl` as one JSON line
//! (`{"time": ..., "holder": ..., "event": "finished", "id": ..., ...}`), written with a single
//! `write` on a file opened for appending, so lines of concurrent runners never interleave.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::error::ExecError;

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run's plan against the store.
    Planned {
        /// Sweep name.
        sweep: String,
        /// Tasks in the sweep (this shard's).
        tasks: usize,
        /// Already committed.
        cached: usize,
        /// To compute.
        queued: usize,
        /// Failed before and not retried.
        failed: usize,
    },
    /// A task is waiting to run.
    Queued {
        /// Task id.
        id: String,
        /// Its axis values.
        label: String,
    },
    /// A task's result was already in the store.
    CacheHit {
        /// Task id.
        id: String,
    },
    /// A task started (or resumed from a checkpoint).
    Started {
        /// Task id.
        id: String,
        /// Its axis values.
        label: String,
        /// The step of the checkpoint it resumed from.
        resumed_from_step: Option<u64>,
    },
    /// A running task's progress.
    Progress {
        /// Task id.
        id: String,
        /// Steps so far.
        step: u64,
        /// Step cap.
        max_steps: u64,
        /// Simulated time.
        t: f64,
        /// Clusters at the last check.
        n_clusters: usize,
        /// Largest drift at the last check.
        max_drift: f64,
    },
    /// A task wrote a checkpoint.
    Checkpointed {
        /// Task id.
        id: String,
        /// Its step.
        step: u64,
    },
    /// A task's result was committed.
    Finished {
        /// Task id.
        id: String,
        /// Steps taken.
        steps: u64,
        /// Why it stopped.
        stop_reason: String,
        /// Clusters at the end.
        n_clusters: usize,
        /// Wall time.
        runtime_s: f64,
    },
    /// A task failed; its reason is recorded in the store.
    Failed {
        /// Task id.
        id: String,
        /// Why.
        reason: String,
    },
    /// A task is held by another runner; this one waits for it or for its lease to expire.
    HeldElsewhere {
        /// Task id.
        id: String,
        /// The other holder.
        holder: String,
    },
    /// A task's checkpoint was not used: unreadable, of another task or revision, or not a
    /// state of this task (its dimension, masses, step, ...; docs/store.md says what is checked).
    /// It is removed and the task starts from the beginning.
    CheckpointDiscarded {
        /// Task id.
        id: String,
        /// Why.
        reason: String,
    },
    /// A task cannot run here because an entry of the store has the wrong kind (a folder where
    /// its lease or failure record goes); it is reported, not waited on, and not recorded.
    Blocked {
        /// Task id.
        id: String,
        /// Which entry, and what it is.
        reason: String,
    },
    /// The run was interrupted: running tasks checkpointed, leases released.
    Interrupted {
        /// Tasks committed by this run before the interruption.
        committed: usize,
        /// Tasks not finished.
        remaining: usize,
    },
}

impl Event {
    /// The task the event is about, if any.
    pub fn task(&self) -> Option<&str> {
        match self {
            Event::Queued { id, .. }
            | Event::CacheHit { id }
            | Event::Started { id, .. }
            | Event::Progress { id, .. }
            | Event::Checkpointed { id, .. }
            | Event::Finished { id, .. }
            | Event::Failed { id, .. }
            | Event::HeldElsewhere { id, .. }
            | Event::CheckpointDiscarded { id, .. }
            | Event::Blocked { id, .. } => Some(id),
            Event::Planned { .. } | Event::Interrupted { .. } => None,
        }
    }
}

/// The append-only JSON-lines log.
pub struct EventLog {
    file: Mutex<File>,
    holder: String,
}

impl EventLog {
    /// Opens (creating) the log for appending.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(path: &Path, holder: &str) -> Result<EventLog, ExecError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ExecError::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
        Ok(EventLog {
            file: Mutex::new(file),
            holder: holder.into(),
        })
    }

    /// Appends one event as a line. Logging never stops a run: write errors are ignored.
    pub fn append(&self, event: &Event) {
        #[derive(Serialize)]
        struct Line<'a> {
            time: f64,
            holder: &'a str,
            #[serde(flatten)]
            event: &'a Event,
        }
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut line = serde_json::to_vec(&Line {
            time,
            holder: &self.holder,
            event,
        })
        .expect("plain data");
        line.push(b'\n');
        if let Ok(mut file) = self.file.lock() {
            let _ = file.write_all(&line);
        }
    }
}

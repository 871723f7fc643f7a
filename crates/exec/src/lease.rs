//! Claims on tasks: lease files created exclusively (written whole, then hard-linked into
//! place, which fails if the lease exists).
//!
//! `leases/<id>.lease` holds JSON naming the holder, its host and pid, and a heartbeat the
//! holder rewrites every few seconds (atomically: a temporary renamed over the lease). A lease
//! is expired when its heartbeat is older than its time-to-live, or at once when its holder
//! was on this host and its process is gone. Taking over an expired lease is itself guarded by
//! an `O_EXCL` file (`<id>.lease.takeover`), so two runners never both take it over.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sphereflow_plan::TaskId;

use crate::error::ExecError;
use crate::provenance::{host_name, slurm_element};
use crate::store::{unique_suffix, write_atomic, Store};

/// Who holds a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// The runner (unique per process).
    pub holder: String,
    /// Its host.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Slurm array job and element, if any.
    pub slurm: Option<String>,
    /// When it was taken (milliseconds since the Unix epoch).
    pub started_ms: u64,
    /// The last heartbeat (milliseconds since the Unix epoch).
    pub heartbeat_ms: u64,
    /// How long after the last heartbeat the lease expires.
    pub ttl_ms: u64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl Lease {
    /// Whether another runner may take the task over.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        let silent = now_ms.saturating_sub(self.heartbeat_ms) > self.ttl_ms;
        let dead_here = self.host == host_name() && !process_alive(self.pid);
        silent || (dead_here && self.pid != std::process::id())
    }

    /// Seconds since the last heartbeat.
    pub fn age_s(&self, now_ms: u64) -> f64 {
        now_ms.saturating_sub(self.heartbeat_ms) as f64 / 1000.0
    }
}

/// A runner's identity and lease settings.
#[derive(Debug, Clone)]
pub struct Holder {
    /// Unique name: host, pid and start time.
    pub name: String,
    /// Lease time-to-live.
    pub ttl: Duration,
}

impl Holder {
    /// A new holder for this process.
    pub fn new(ttl: Duration) -> Holder {
        Holder {
            name: format!("{}-{}-{:x}", host_name(), std::process::id(), now_ms()),
            ttl,
        }
    }

    fn lease(&self, started_ms: u64) -> Lease {
        Lease {
            holder: self.name.clone(),
            host: host_name(),
            pid: std::process::id(),
            slurm: slurm_element(),
            started_ms,
            heartbeat_ms: now_ms(),
            ttl_ms: self.ttl.as_millis() as u64,
        }
    }
}

/// The outcome of a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The task is ours.
    Acquired,
    /// Someone else holds it (the lease, if it could be read).
    HeldBy(Option<Lease>),
}

/// Reads a task's lease.
pub fn read(store: &Store, id: &TaskId) -> Option<Lease> {
    let bytes = fs::read(store.lease_path(id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn file_age_ms(path: &Path) -> Option<u64> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    Some(
        SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default()
            .as_millis() as u64,
    )
}

/// Tries to claim a task.
///
/// # Errors
/// IO errors other than the lease being held.
pub fn claim(store: &Store, id: &TaskId, holder: &Holder) -> Result<Claim, ExecError> {
    let path = store.lease_path(id);
    let io = |e| ExecError::Io {
        path: path.clone(),
        source: e,
    };
    for _ in 0..2 {
        // The lease is written whole beside its place, then hard-linked there: the link is as
        // exclusive as `O_EXCL` (and works on NFS), and a runner killed at any moment never
        // leaves an empty lease that others would wait a whole time-to-live on. Not synced: a
        // lease lost in a power cut only means the task is computed again.
        let lease = holder.lease(now_ms());
        let temp = path.with_file_name(format!(".{id}.lease.{}.tmp", unique_suffix()));
        fs::write(&temp, serde_json::to_vec(&lease).expect("plain data")).map_err(io)?;
        let linked = fs::hard_link(&temp, &path);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => return Ok(Claim::Acquired),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let current = read(store, id);
        let expired = match &current {
            Some(lease) => lease.is_expired(now_ms()),
            // Being written, or left empty by a crash right after creation.
            None => file_age_ms(&path).is_some_and(|age| age > holder.ttl.as_millis() as u64),
        };
        if !expired {
            return Ok(Claim::HeldBy(current));
        }
        // Take over: only the runner that creates the takeover file may remove the lease.
        let guard = path.with_extension("lease.takeover");
        match OpenOptions::new().write(true).create_new(true).open(&guard) {
            Ok(_) => {
                if read(store, id) == current {
                    let _ = fs::remove_file(&path);
                }
                let _ = fs::remove_file(&guard);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if file_age_ms(&guard).is_some_and(|age| age > holder.ttl.as_millis() as u64) {
                    let _ = fs::remove_file(&guard);
                }
                return Ok(Claim::HeldBy(current));
            }
            Err(e) => return Err(io(e)),
        }
    }
    Ok(Claim::HeldBy(read(store, id)))
}

/// Rewrites the heartbeat of a lease we hold; returns whether we still hold it.
pub fn heartbeat(store: &Store, id: &TaskId, holder: &Holder) -> bool {
    let Some(lease) = read(store, id) else {
        return false;
    };
    if lease.holder != holder.name {
        return false;
    }
    let renewed = Lease {
        heartbeat_ms: now_ms(),
        ..lease
    };
    write_atomic(
        &store.lease_path(id),
        &serde_json::to_vec(&renewed).expect("plain data"),
    )
    .is_ok()
}

/// Releases a lease we hold (a lease taken over by another runner is left alone).
pub fn release(store: &Store, id: &TaskId, holder: &Holder) {
    if read(store, id).is_some_and(|lease| lease.holder == holder.name) {
        let _ = fs::remove_file(store.lease_path(id));
    }
}

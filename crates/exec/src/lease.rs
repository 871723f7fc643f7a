//! Claims on tasks: lease files created exclusively (written whole, then hard-linked into
//! place, which fails if the lease exists).
//!
//! `leases/<id>.lease` holds JSON naming the holder, its host and pid, and a heartbeat the
//! holder rewrites every few seconds (atomically: a temporary renamed over the lease). A lease
//! is expired when its heartbeat is older than its time-to-live, or at once when its holder
//! was on this host and its process is gone. Taking over an expired lease is itself guarded by
//! an exclusive file (`<id>.lease.takeover`), so two runners never both take it over. The guard
//! names its holder like a lease, so one left by a runner killed while taking over is broken
//! at once when that runner's process is gone (after a time-to-live from another host).

use std::fs;
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
    /// An entry of the wrong kind is where the lease (or the task's checkpoint or failure
    /// record) goes: nobody can hold the task until it is removed ([`Store::wrong_kind`]).
    Blocked(String),
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
    if let Some(reason) = store.wrong_kind(id) {
        return Ok(Claim::Blocked(reason));
    }
    let io = |e| ExecError::Io {
        path: path.clone(),
        source: e,
    };
    // Three rounds: a stale takeover guard broken in the first leaves two for the takeover
    // and the claim after it.
    for _ in 0..3 {
        let lease = holder.lease(now_ms());
        if link_new(&path, &lease).map_err(io)? {
            return Ok(Claim::Acquired);
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
        // Take over: only the runner whose guard is in place may remove the lease.
        let guard = path.with_extension("lease.takeover");
        if link_new(&guard, &lease).map_err(io)? {
            if read(store, id) == current {
                let _ = fs::remove_file(&path);
            }
            let _ = fs::remove_file(&guard);
        } else if !break_stale_guard(&guard, holder.ttl) {
            return Ok(Claim::HeldBy(current));
        }
    }
    Ok(Claim::HeldBy(read(store, id)))
}

/// Creates `path` holding `lease`, unless it exists; returns whether it was created.
///
/// The lease is written whole beside its place, then hard-linked there: the link is as
/// exclusive as `O_EXCL` (and works on NFS), and a runner killed at any moment never leaves an
/// empty file that others would wait a whole time-to-live on. Not synced: a lease lost in a
/// power cut only means the task is computed again.
fn link_new(path: &Path, lease: &Lease) -> std::io::Result<bool> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", unique_suffix()));
    fs::write(&temp, serde_json::to_vec(lease).expect("plain data"))?;
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes a takeover guard left by a runner that died while taking over (its process is gone
/// from this host, or it is older than a time-to-live); returns whether it did.
///
/// A live runner holds its guard for microseconds. The stale guard is renamed aside and compared
/// with the one judged stale: if another runner put a fresh guard in its place meanwhile, that
/// one is linked back.
fn break_stale_guard(guard: &Path, ttl: Duration) -> bool {
    let Ok(bytes) = fs::read(guard) else {
        // Gone already: the next round may take over.
        return true;
    };
    let stale = match serde_json::from_slice::<Lease>(&bytes) {
        Ok(owner) => owner.is_expired(now_ms()),
        // Unreadable (a guard of an older version is empty): judged by its age.
        Err(_) => file_age_ms(guard).is_some_and(|age| age > ttl.as_millis() as u64),
    };
    if !stale {
        return false;
    }
    let name = guard.file_name().unwrap_or_default().to_string_lossy();
    let aside = guard.with_file_name(format!(".{name}.{}.tmp", unique_suffix()));
    if fs::rename(guard, &aside).is_err() {
        return true;
    }
    let same = fs::read(&aside).is_ok_and(|moved| moved == bytes);
    if !same {
        let _ = fs::hard_link(&aside, guard);
    }
    let _ = fs::remove_file(&aside);
    same
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

/// The name [`timings`] gives the checkpoint interval in its errors.
pub const CHECKPOINT_EVERY: &str = "checkpoint interval";
/// The name [`timings`] gives the lease time-to-live in its errors.
pub const LEASE_TTL: &str = "lease time-to-live";

/// Shortest and longest checkpoint interval, in seconds: a checkpoint costs a write of the
/// whole state, and an interval longer than a day loses a day's work on a kill.
pub const CHECKPOINT_EVERY_RANGE: (f64, f64) = (0.001, 86_400.0);

/// Shortest and longest lease time-to-live, in seconds: heartbeats come every quarter of it, so
/// under a second a busy holder could miss one and two runners compute the same task; over a
/// week a dead runner's tasks wait that long.
pub const LEASE_TTL_RANGE: (f64, f64) = (1.0, 604_800.0);

/// The checkpoint interval and the lease time-to-live of runners, from seconds; an
/// [`ExecError::Option`] naming [`CHECKPOINT_EVERY`] or [`LEASE_TTL`] unless each is a number
/// of seconds in its range ([`CHECKPOINT_EVERY_RANGE`], [`LEASE_TTL_RANGE`]).
pub fn timings(checkpoint_every: f64, lease_ttl: f64) -> Result<(Duration, Duration), ExecError> {
    for (option, value, (min, max)) in [
        (CHECKPOINT_EVERY, checkpoint_every, CHECKPOINT_EVERY_RANGE),
        (LEASE_TTL, lease_ttl, LEASE_TTL_RANGE),
    ] {
        if !(min..=max).contains(&value) {
            return Err(ExecError::Option {
                option,
                reason: format!(
                    "must be between {min} and {max} seconds, got {}",
                    sphereflow_plan::schema::float_text(value)
                ),
            });
        }
    }
    Ok((
        Duration::from_secs_f64(checkpoint_every),
        Duration::from_secs_f64(lease_ttl),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has exited (and been reaped).
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn lease_of(pid: u32) -> Lease {
        Lease {
            holder: format!("runner-{pid}"),
            host: host_name(),
            pid,
            slurm: None,
            started_ms: now_ms(),
            heartbeat_ms: now_ms(),
            ttl_ms: 60_000,
        }
    }

    fn put(path: &Path, lease: &Lease) {
        fs::write(path, serde_json::to_vec(lease).unwrap()).unwrap();
    }

    #[test]
    fn a_guard_left_by_a_runner_killed_while_taking_over_is_broken_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = TaskId::from_hex(&"ab".repeat(32)).unwrap();
        let path = store.lease_path(&id);
        let guard = path.with_extension("lease.takeover");
        let holder = Holder::new(Duration::from_secs(60));

        // A dead runner's lease and the guard of another runner that died taking it over,
        // both well within their time-to-live.
        put(&path, &lease_of(dead_pid()));
        put(&guard, &lease_of(dead_pid()));
        assert_eq!(claim(&store, &id, &holder).unwrap(), Claim::Acquired);
        assert_eq!(read(&store, &id).unwrap().holder, holder.name);
        assert!(!guard.exists());

        // A guard whose holder is alive is respected: the task stays held.
        let mut alive = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        put(&path, &lease_of(dead_pid()));
        put(&guard, &lease_of(alive.id()));
        assert!(matches!(
            claim(&store, &id, &holder).unwrap(),
            Claim::HeldBy(_)
        ));
        assert!(guard.exists());
        alive.kill().unwrap();
        alive.wait().unwrap();
        // Once that holder is gone, the next claim breaks its guard and takes the task.
        assert_eq!(claim(&store, &id, &holder).unwrap(), Claim::Acquired);

        // Nothing is left beside the lease: no guard, no temporary.
        let names: Vec<_> = fs::read_dir(dir.path().join("leases"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [format!("{id}.lease")]);
    }
}

//! `gc`: removes what killed runs leave behind. Committed objects are never touched.
//!
//! - temporaries (`tmp/*`, and `.*.tmp` beside leases, checkpoints and failure records) whose
//!   writer is gone: on this host, its process no longer exists; from another host (a shared
//!   filesystem), it is older than a day;
//! - expired leases and leftover takeover guards;
//! - checkpoints of tasks that are committed, or of another solver revision.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use sphereflow_plan::TaskId;
use sphereflow_solver::SOLVER_REV;

use crate::error::ExecError;
use crate::lease;
use crate::provenance::host_name;
use crate::store::{writer_of, ObjectState, Store};

/// Age after which a temporary from another host counts as orphaned.
const FOREIGN_TEMPORARY_AGE: Duration = Duration::from_secs(24 * 3600);

/// What `gc` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Orphaned temporary files and folders.
    pub temporaries: usize,
    /// Expired leases and takeover guards.
    pub leases: usize,
    /// Checkpoints no longer needed.
    pub checkpoints: usize,
    /// Entries of the wrong kind where a lease, checkpoint or failure record goes (a folder,
    /// a link), left alone and listed: `leases/<id>.lease is a folder`. Such an entry blocks
    /// its task (`status` and `run` say so) until it is removed by hand.
    pub wrong_kind: Vec<String>,
}

/// Whether an entry is a regular file; otherwise it is listed in the report and left alone.
fn plain_file(path: &Path, root: &Path, report: &mut GcReport) -> bool {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_file() => true,
        Ok(metadata) => {
            let what = if metadata.is_dir() {
                "a folder"
            } else if metadata.file_type().is_symlink() {
                "a symbolic link"
            } else {
                "not a file"
            };
            let shown = path.strip_prefix(root).unwrap_or(path);
            report
                .wrong_kind
                .push(format!("{} is {what}, not a file", shown.display()));
            false
        }
        Err(_) => false,
    }
}

fn orphaned(path: &Path, name: &str) -> bool {
    let Some((host, pid)) = writer_of(name) else {
        return false;
    };
    if host == host_name().replace('.', "_") {
        return pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
    }
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > FOREIGN_TEMPORARY_AGE)
}

fn remove(path: &Path) -> bool {
    if path.is_dir() {
        fs::remove_dir_all(path).is_ok()
    } else {
        fs::remove_file(path).is_ok()
    }
}

fn entries(dir: &Path) -> Result<Vec<(std::path::PathBuf, String)>, ExecError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ExecError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    Ok(read
        .filter_map(Result::ok)
        .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
        .collect())
}

/// Removes orphaned temporaries, expired leases and unneeded checkpoints.
///
/// # Errors
/// A store folder that cannot be listed.
pub fn gc(store: &Store) -> Result<GcReport, ExecError> {
    let mut report = GcReport::default();
    let root = store.root();
    for (path, name) in entries(&root.join("tmp"))? {
        if orphaned(&path, &name) && remove(&path) {
            report.temporaries += 1;
        }
    }
    for dir in ["leases", "checkpoints", "failed", "."] {
        for (path, name) in entries(&root.join(dir))? {
            if name.starts_with('.')
                && name.ends_with(".tmp")
                && orphaned(&path, &name)
                && remove(&path)
            {
                report.temporaries += 1;
            }
        }
    }
    for (path, name) in entries(&root.join("leases"))? {
        if name.starts_with('.') || !plain_file(&path, root, &mut report) {
            continue;
        }
        if let Some(hex) = name.strip_suffix(".lease.takeover") {
            if TaskId::from_hex(hex).is_some()
                && lease::read(store, &TaskId::from_hex(hex).expect("checked"))
                    .is_none_or(|l| l.is_expired(lease::now_ms()))
                && remove(&path)
            {
                report.leases += 1;
            }
            continue;
        }
        let Some(id) = name.strip_suffix(".lease").and_then(TaskId::from_hex) else {
            continue;
        };
        let expired = match lease::read(store, &id) {
            Some(lease) => lease.is_expired(lease::now_ms()),
            // Empty or unreadable: left by a crash right after creation, once it is old.
            None => fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(60)),
        };
        if expired && remove(&path) {
            report.leases += 1;
        }
    }
    for (path, name) in entries(&root.join("checkpoints"))? {
        let Some(id) = name.strip_suffix(".json").and_then(TaskId::from_hex) else {
            continue;
        };
        if !plain_file(&path, root, &mut report) {
            continue;
        }
        let committed = matches!(store.inspect(&id), ObjectState::Ok { solver_rev } if solver_rev == SOLVER_REV);
        let other_revision = store.checkpoint(&id, SOLVER_REV).is_none();
        let running = lease::read(store, &id).is_some_and(|l| !l.is_expired(lease::now_ms()));
        if (committed || other_revision) && !running && remove(&path) {
            report.checkpoints += 1;
        }
    }
    for (path, name) in entries(&root.join("failed"))? {
        if name.ends_with(".json") && !name.starts_with('.') {
            plain_file(&path, root, &mut report);
        }
    }
    Ok(report)
}

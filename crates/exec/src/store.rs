//! The content-addressed store (layout `sphereflow/store/v1`, docs/store.md).
//!
//! ```text
//! <store>/layout                      "sphereflow/store/v1"
//! <store>/objects/ab/<task_id>/       a committed result: summary.json (spec, summary,
//!                                     clusters, provenance), series.json, final.npy,
//!                                     frames.npy, checksums.json (blake3 of the others)
//! <store>/leases/<task_id>.lease      who is computing a task (see `lease`)
//! <store>/checkpoints/<task_id>.json  a running task's last checkpoint
//! <store>/failed/<task_id>.json       why a task failed
//! <store>/tmp/                        private work directories, renamed into objects/
//! <store>/events.jsonl                the event log of every run on this store
//! ```
//!
//! A result is committed by writing every file in a private directory under `tmp/`, syncing
//! them and the directory, and renaming the directory into `objects/`. A rename is atomic, so a
//! reader sees a whole object or none; a killed writer leaves only a temporary that `gc` removes.
//!
//! Long file: the store's layout in one place: objects, commits, checkpoints, failure records,
//! and the entries every command must read the same way.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use serde::{Deserialize, Serialize};
use sphereflow_plan::TaskId;
use sphereflow_solver::{Certificate, Cluster, Frames, SeriesRow, Simulation, State, Summary};

use crate::error::ExecError;
use crate::provenance::Provenance;

/// The layout's name and version, written in `<store>/layout`.
pub const STORE_LAYOUT: &str = "sphereflow/store/v1";

/// The files of an object, in the order they are written (`checksums.json` comes last).
///
/// Few files per object on purpose: creating files dominates the cost of committing tiny tasks.
pub const OBJECT_FILES: &[&str] = &["summary.json", "series.json", "final.npy", "frames.npy"];

/// What a task is, as stored beside its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The identity scheme.
    pub scheme: String,
    /// The id.
    pub task_id: String,
    /// The canonical form that was hashed.
    pub canonical: String,
    /// Every parameter with its value (defaults filled), by path.
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

/// A snapshot's place in `frames.npy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameIndex {
    /// Step count.
    pub step: u64,
    /// Simulated time.
    pub t: f64,
    /// Number of atoms (rows of `frames.npy` belonging to this frame).
    pub atoms: usize,
}

/// `summary.json`: the task, its scalar results and clusters, how long they took and where
/// they were computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSummary {
    /// The task.
    pub spec: TaskSpec,
    /// The solver's summary.
    pub summary: Summary,
    /// Wall time of the computation (all sessions of it, if resumed).
    pub runtime_s: f64,
    /// The solver's numerical revision.
    pub solver_rev: u32,
    /// Where, when and by what it was computed.
    pub provenance: Provenance,
    /// Final clusters, heaviest first.
    pub clusters: Vec<Cluster>,
    /// The snapshots in `frames.npy`, in order.
    pub frames: Vec<FrameIndex>,
    /// The end state's certificate (`stop.certify`): its atoms, spectrum and classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
}

/// Everything a committed object holds, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    /// The task, scalar results, clusters and provenance.
    pub summary: StoredSummary,
    /// Final atoms.
    pub final_state: State,
    /// The time series.
    pub series: Vec<SeriesRow>,
    /// Snapshots: `(step, t, state)`.
    pub frames: Vec<(u64, f64, State)>,
}

/// What a store holds for a task id.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectState {
    /// No object.
    Missing,
    /// A whole object whose checksums match.
    Ok {
        /// The solver revision that computed it.
        solver_rev: u32,
    },
    /// An object that fails verification.
    Corrupt {
        /// What is wrong.
        reason: String,
    },
}

/// `failed/<id>.json`: why a task failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The task.
    pub task_id: String,
    /// `error`, `panic`, `refused` or `non-finite`.
    pub kind: String,
    /// The message.
    pub reason: String,
    /// Where and when.
    pub provenance: Provenance,
}

/// `checkpoints/<id>.json`: a running task's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The task.
    pub task_id: String,
    /// The solver revision that wrote it (another revision's checkpoint is ignored).
    pub solver_rev: u32,
    /// Wall time spent on the task before this checkpoint.
    pub runtime_s: f64,
    /// When the task first started (RFC 3339).
    pub started: String,
    /// The run.
    pub simulation: Simulation,
}

/// A task's checkpoint as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckpointRead {
    /// No checkpoint.
    Missing,
    /// A checkpoint of this task and revision (still to be checked against the task).
    Found(Box<Checkpoint>),
    /// A checkpoint that cannot be used: unreadable, another task's or another revision's.
    Unusable {
        /// Why.
        reason: String,
    },
}

/// A store on disk.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// The folders of a store; a folder holding any of them with entries is a store.
const STORE_FOLDERS: &[&str] = &["objects", "leases", "checkpoints", "failed", "tmp"];

/// What a path is, for messages: `a folder`, `a symbolic link`, ...
fn kind_of(metadata: &fs::Metadata) -> &'static str {
    let kind = metadata.file_type();
    if kind.is_dir() {
        "a folder"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a file"
    } else {
        "a device, pipe or socket"
    }
}

/// An error unless a folder without a layout file is new (no results, leases, checkpoints or
/// failure records in it): a store whose layout file is lost is not silently made a new one.
fn check_unmarked(root: &Path, layout: &Path) -> Result<(), ExecError> {
    let used: Vec<&str> = STORE_FOLDERS
        .iter()
        .copied()
        .filter(|dir| *dir != "tmp")
        .filter(|dir| {
            fs::read_dir(root.join(dir)).is_ok_and(|mut entries| entries.next().is_some())
        })
        .collect();
    if used.is_empty() {
        return Ok(());
    }
    // Another process may have created the store since the layout file was looked for: it
    // writes the layout file before it leases or commits anything, so a layout file present now
    // means a new store, not a damaged one.
    if fs::read_to_string(layout).is_ok_and(|text| text.trim() == STORE_LAYOUT) {
        return Ok(());
    }
    Err(ExecError::Damaged {
        path: layout.to_path_buf(),
        reason: format!(
            "missing, but the folder holds a store ({}/ not empty); if it is a sphereflow store, \
             write the line {STORE_LAYOUT} into it",
            used.join("/, ")
        ),
    })
}

fn io_error(path: &Path, error: io::Error) -> ExecError {
    ExecError::Io {
        path: path.to_path_buf(),
        source: error,
    }
}

/// Writes a file and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ExecError> {
    let mut file = File::create(path).map_err(|e| io_error(path, e))?;
    file.write_all(bytes).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))
}

/// Syncs a directory, so that renames into it survive a crash.
fn sync_dir(path: &Path) -> Result<(), ExecError> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(path, e))
}

/// A name no other writer uses: holder, process and a counter.
pub(crate) fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}.{}.{:x}.{}",
        crate::provenance::host_name().replace('.', "_"),
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The host and pid that wrote a temporary named with [`unique_suffix`] (after any prefix).
pub(crate) fn writer_of(name: &str) -> Option<(String, u32)> {
    let name = name.strip_suffix(".tmp").unwrap_or(name);
    let mut parts = name.rsplitn(5, '.');
    let _counter = parts.next()?;
    let _nanos = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    Some((host.rsplit('.').next().unwrap_or(host).to_string(), pid))
}

/// Writes a file atomically: a temporary beside it (in the same folder, so the rename cannot
/// cross filesystems), synced, renamed over it, and the folder synced. A crash leaves the old
/// file or the new one, never a part; the file gets the usual permissions (0644 under the
/// common umask), not a temporary's. Every file sphereflow writes goes through here: store
/// objects, tables, figures, reports and `simulate --out`.
///
/// # Errors
/// [`ExecError::Io`] naming the file (or its folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExecError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        unique_suffix()
    ));
    write_synced(&temp, bytes)?;
    fs::rename(&temp, path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error(path, e)
    })?;
    sync_dir(dir)
}

/// An f64 array of the given shape as the bytes of a `.npy` file (C order).
pub fn npy_bytes(values: &[f64], shape: &[u64]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut writer = npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut bytes)
            .begin_nd()
            .expect("writing to memory");
        writer
            .extend(values.iter().copied())
            .expect("writing to memory");
        writer.finish().expect("writing to memory");
    }
    bytes
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ExecError> {
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    parse_json(path, &bytes)
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, ExecError> {
    serde_json::from_slice(bytes).map_err(|e| ExecError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn parse_npy(path: &Path, bytes: &[u8]) -> Result<(Vec<u64>, Vec<f64>), ExecError> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| io_error(path, e))?;
    let shape = npy.shape().to_vec();
    let values = npy.into_vec::<f64>().map_err(|e| io_error(path, e))?;
    Ok((shape, values))
}

/// An object's files (in [`OBJECT_FILES`] order), each matching its checksum, and its summary.
struct VerifiedObject {
    summary: StoredSummary,
    files: Vec<Vec<u8>>,
}

/// A stored result from the bytes of its files, in [`OBJECT_FILES`] order (`dir` names them in
/// errors).
fn parse_object(
    dir: &Path,
    summary: StoredSummary,
    files: &[Vec<u8>],
) -> Result<StoredResult, ExecError> {
    let [_, series, final_npy, frames_npy] = files else {
        unreachable!("one entry per object file");
    };
    let (shape, rows) = parse_npy(&dir.join("final.npy"), final_npy)?;
    let dim = (shape.get(1).copied().unwrap_or(2) as usize)
        .saturating_sub(1)
        .max(1);
    let final_state = state_of_rows(&rows, dim);
    let series = parse_json(&dir.join("series.json"), series)?;
    let (_, rows) = parse_npy(&dir.join("frames.npy"), frames_npy)?;
    let mut frames = Vec::with_capacity(summary.frames.len());
    let mut offset = 0;
    for index in &summary.frames {
        let length = index.atoms * (dim + 1);
        let Some(frame_rows) = rows.get(offset..offset + length) else {
            return Err(ExecError::Corrupt {
                path: dir.join("frames.npy"),
                reason: "fewer rows than summary.json lists".into(),
            });
        };
        frames.push((index.step, index.t, state_of_rows(frame_rows, dim)));
        offset += length;
    }
    Ok(StoredResult {
        summary,
        final_state,
        series,
        frames,
    })
}

/// The bytes of every object file of a finished run.
pub struct ObjectContent {
    files: Vec<(&'static str, Vec<u8>)>,
}

impl ObjectContent {
    /// Encodes a finished run.
    pub fn new(
        summary: &StoredSummary,
        final_state: &State,
        series: &[SeriesRow],
        frames: &Frames,
    ) -> ObjectContent {
        let dim = final_state.dim;
        let mut frame_rows = Vec::new();
        let mut rows = 0u64;
        for frame in &frames.frames {
            rows += frame.state.len() as u64;
            push_rows(&frame.state, &mut frame_rows);
        }
        let mut final_rows = Vec::with_capacity(final_state.len() * (dim + 1));
        push_rows(final_state, &mut final_rows);
        let columns = dim as u64 + 1;
        let files = vec![
            ("summary.json", json(summary)),
            ("series.json", json(series)),
            (
                "final.npy",
                npy_bytes(&final_rows, &[final_state.len() as u64, columns]),
            ),
            ("frames.npy", npy_bytes(&frame_rows, &[rows, columns])),
        ];
        ObjectContent { files }
    }
}

/// Appends a state's atoms as rows `[mass, x_1 .. x_d]`.
fn push_rows(state: &State, out: &mut Vec<f64>) {
    for (x, m) in state.positions.chunks_exact(state.dim).zip(&state.masses) {
        out.push(*m);
        out.extend_from_slice(x);
    }
}

/// Splits rows `[mass, x_1 .. x_d]` back into a state.
fn state_of_rows(rows: &[f64], dim: usize) -> State {
    let mut positions = Vec::with_capacity(rows.len() / (dim + 1) * dim);
    let mut masses = Vec::with_capacity(rows.len() / (dim + 1));
    for row in rows.chunks_exact(dim + 1) {
        masses.push(row[0]);
        positions.extend_from_slice(&row[1..]);
    }
    State {
        dim,
        positions,
        masses,
    }
}

/// Pretty JSON with a final newline.
fn json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("plain data");
    bytes.push(b'\n');
    bytes
}

/// An object written to a private folder, awaiting [`Store::publish`].
#[derive(Debug)]
pub struct Staged {
    /// The task.
    pub id: TaskId,
    work: PathBuf,
}

/// Syncs everything written under the store (files, folders, renames) to disk: on Linux with
/// one `syncfs` of its filesystem, elsewhere file by file and folder by folder.
fn sync_tree(root: &Path, paths: &[&Path]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let _ = paths;
        let handle = File::open(root)?;
        // SAFETY: `syncfs` takes a valid open descriptor, which `handle` holds for the call.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        for path in paths {
            if path.is_dir() {
                for entry in fs::read_dir(path)? {
                    File::open(entry?.path())?.sync_all()?;
                }
            }
            File::open(path)?.sync_all()?;
        }
    }
    Ok(())
}

/// How a commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Our object is now in place.
    Written,
    /// A valid object of this revision was already there; ours was discarded.
    AlreadyThere,
}

impl Store {
    /// Opens a store, creating its folders if needed.
    ///
    /// # Errors
    /// IO errors, and a folder that holds another layout.
    pub fn open(root: &Path) -> Result<Store, ExecError> {
        let store = Store {
            root: root.to_path_buf(),
        };
        let layout = root.join("layout");
        let marked = match fs::read_to_string(&layout) {
            Ok(text) if text.trim() == STORE_LAYOUT => true,
            Ok(text) => {
                return Err(ExecError::Layout {
                    path: layout,
                    found: text.trim().to_string(),
                    expected: STORE_LAYOUT,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                check_unmarked(root, &layout)?;
                false
            }
            Err(e) => return Err(io_error(&layout, e)),
        };
        for dir in STORE_FOLDERS {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(|e| io_error(&path, e))?;
        }
        if !marked {
            write_atomic(&layout, format!("{STORE_LAYOUT}\n").as_bytes())?;
        }
        Ok(store)
    }

    /// Opens a store only if it exists (for read-only commands: nothing is created).
    ///
    /// # Errors
    /// A folder that holds another layout, a layout file that cannot be read (a folder in its
    /// place), and a folder that holds a store's results without its layout file: the same
    /// store states [`Store::open`] refuses.
    pub fn open_existing(root: &Path) -> Result<Option<Store>, ExecError> {
        let layout = root.join("layout");
        match fs::read_to_string(&layout) {
            Ok(text) if text.trim() == STORE_LAYOUT => Ok(Some(Store {
                root: root.to_path_buf(),
            })),
            Ok(text) => Err(ExecError::Layout {
                path: layout,
                found: text.trim().to_string(),
                expected: STORE_LAYOUT,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                check_unmarked(root, &layout)?;
                Ok(None)
            }
            Err(e) => Err(io_error(&layout, e)),
        }
    }

    /// The first of a task's own entries (lease, takeover guard, checkpoint, failure record)
    /// that exists but is not a regular file, as `leases/<id>.lease is a folder, not a file`;
    /// such an entry cannot be replaced by a rename, so the task cannot run until it is removed.
    pub fn wrong_kind(&self, id: &TaskId) -> Option<String> {
        let lease = self.lease_path(id);
        let entries = [
            lease.clone(),
            lease.with_extension("lease.takeover"),
            self.checkpoint_path(id),
            self.failure_path(id),
        ];
        for path in entries {
            let Ok(metadata) = fs::symlink_metadata(&path) else {
                continue;
            };
            if !metadata.file_type().is_file() {
                let shown = path.strip_prefix(&self.root).unwrap_or(&path);
                return Some(format!(
                    "{} is {}, not a file: remove it to let the task run",
                    shown.display(),
                    kind_of(&metadata)
                ));
            }
        }
        None
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a task's object lives.
    pub fn object_dir(&self, id: &TaskId) -> PathBuf {
        let hex = id.to_hex();
        self.root.join("objects").join(&hex[..2]).join(hex)
    }

    pub(crate) fn lease_path(&self, id: &TaskId) -> PathBuf {
        self.root.join("leases").join(format!("{id}.lease"))
    }

    fn checkpoint_path(&self, id: &TaskId) -> PathBuf {
        self.root.join("checkpoints").join(format!("{id}.json"))
    }

    fn failure_path(&self, id: &TaskId) -> PathBuf {
        self.root.join("failed").join(format!("{id}.json"))
    }

    /// The event log's path.
    pub fn event_log(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }

    /// Verifies a task's object: every file present and matching its checksum.
    pub fn inspect(&self, id: &TaskId) -> ObjectState {
        match self.read_verified(id) {
            Ok(object) => ObjectState::Ok {
                solver_rev: object.summary.solver_rev,
            },
            Err(state) => state,
        }
    }

    /// Reads a task's object once, verifying each file against `checksums.json` as it is read:
    /// its state as [`Store::inspect`] gives it and, when it is whole and of solver revision
    /// `solver_rev`, the result parsed from the very bytes whose checksums matched.
    ///
    /// # Errors
    /// Files that match their checksums but do not parse (an object written by another layout).
    pub fn load_verified(
        &self,
        id: &TaskId,
        solver_rev: u32,
    ) -> Result<(ObjectState, Option<StoredResult>), ExecError> {
        match self.read_verified(id) {
            Ok(object) => {
                let state = ObjectState::Ok {
                    solver_rev: object.summary.solver_rev,
                };
                if object.summary.solver_rev != solver_rev {
                    return Ok((state, None));
                }
                let dir = self.object_dir(id);
                let result = parse_object(&dir, object.summary, &object.files)?;
                Ok((state, Some(result)))
            }
            Err(state) => Ok((state, None)),
        }
    }

    /// Every file of an object, read once and checked against its checksum, and its summary.
    fn read_verified(&self, id: &TaskId) -> Result<VerifiedObject, ObjectState> {
        let dir = self.object_dir(id);
        if !dir.exists() {
            return Err(ObjectState::Missing);
        }
        let corrupt = |reason: String| ObjectState::Corrupt { reason };
        let checksums: serde_json::Map<String, serde_json::Value> =
            match read_json(&dir.join("checksums.json")) {
                Ok(map) => map,
                Err(ExecError::Io { source, .. }) => {
                    return Err(corrupt(format!("checksums.json unreadable: {source}")))
                }
                Err(error) => return Err(corrupt(format!("checksums.json: {error}"))),
            };
        let mut files = Vec::with_capacity(OBJECT_FILES.len());
        for name in OBJECT_FILES {
            let Some(expected) = checksums.get(*name).and_then(|v| v.as_str()) else {
                return Err(corrupt(format!("checksums.json lists no {name}")));
            };
            let bytes = match fs::read(dir.join(name)) {
                Ok(bytes) => bytes,
                Err(e) => return Err(corrupt(format!("{name}: {e}"))),
            };
            if blake3::hash(&bytes).to_hex().as_str() != expected {
                return Err(corrupt(format!("{name}: checksum mismatch")));
            }
            files.push(bytes);
        }
        match serde_json::from_slice::<StoredSummary>(&files[0]) {
            // Whole and consistent, but another task's object (a copy into the wrong folder).
            Ok(summary) if summary.spec.task_id != id.to_hex() => Err(corrupt(format!(
                "summary.json: the object of task {}, not of this one",
                summary.spec.task_id
            ))),
            Ok(summary) => Ok(VerifiedObject { summary, files }),
            Err(error) => Err(corrupt(format!("summary.json: {error}"))),
        }
    }

    /// Reads a committed object (verify it first with [`Store::inspect`], or read and verify it
    /// in one pass with [`Store::load_verified`]).
    ///
    /// # Errors
    /// Missing or malformed files.
    pub fn load(&self, id: &TaskId) -> Result<StoredResult, ExecError> {
        let dir = self.object_dir(id);
        let mut files = Vec::with_capacity(OBJECT_FILES.len());
        for name in OBJECT_FILES {
            let path = dir.join(name);
            files.push(fs::read(&path).map_err(|e| io_error(&path, e))?);
        }
        let summary = parse_json(&dir.join("summary.json"), &files[0])?;
        parse_object(&dir, summary, &files)
    }

    /// Commits one object (see [`Store::stage`] and [`Store::publish`]).
    ///
    /// # Errors
    /// IO errors (a full disk among them); nothing partial is left in `objects/`.
    pub fn commit(
        &self,
        id: &TaskId,
        content: &ObjectContent,
        solver_rev: u32,
    ) -> Result<Committed, ExecError> {
        let staged = self.stage(id, content)?;
        self.publish(vec![staged], solver_rev)
            .pop()
            .expect("one result per staged object")
    }

    /// Writes an object's files and checksums into a private folder under `tmp/`, not yet
    /// synced nor visible.
    ///
    /// # Errors
    /// IO errors; the private folder is removed.
    pub fn stage(&self, id: &TaskId, content: &ObjectContent) -> Result<Staged, ExecError> {
        let work = self
            .root
            .join("tmp")
            .join(format!("commit.{id}.{}", unique_suffix()));
        let write = || -> Result<(), ExecError> {
            fs::create_dir_all(&work).map_err(|e| io_error(&work, e))?;
            let mut checksums = serde_json::Map::new();
            for (name, bytes) in &content.files {
                let path = work.join(name);
                fs::write(&path, bytes).map_err(|e| io_error(&path, e))?;
                checksums.insert(
                    (*name).into(),
                    blake3::hash(bytes).to_hex().to_string().into(),
                );
            }
            let path = work.join("checksums.json");
            let checksums = serde_json::to_vec_pretty(&checksums).expect("plain data");
            fs::write(&path, checksums).map_err(|e| io_error(&path, e))
        };
        match write() {
            Ok(()) => Ok(Staged { id: *id, work }),
            Err(error) => {
                let _ = fs::remove_dir_all(&work);
                Err(error)
            }
        }
    }

    /// Makes staged objects durable and visible: one filesystem sync for the whole batch (the
    /// group commit: a batch of tiny tasks costs about one sync), then each private folder is
    /// renamed into `objects/` and the shard folders are synced. A corrupt or stale object
    /// already there is replaced; a valid one of this revision is kept and ours discarded.
    pub fn publish(
        &self,
        batch: Vec<Staged>,
        solver_rev: u32,
    ) -> Vec<Result<Committed, ExecError>> {
        if batch.is_empty() {
            return Vec::new();
        }
        let works: Vec<&Path> = batch.iter().map(|s| s.work.as_path()).collect();
        let synced = sync_tree(&self.root, &works);
        let mut shards = Vec::new();
        let mut results: Vec<Result<Committed, ExecError>> = batch
            .iter()
            .map(|staged| {
                if let Err(error) = &synced {
                    let error = io::Error::new(error.kind(), error.to_string());
                    return Err(io_error(&staged.work, error));
                }
                let outcome = self.place(staged, solver_rev);
                if let Ok(Committed::Written) = outcome {
                    let shard = self.object_dir(&staged.id);
                    shards.push(shard.parent().expect("shard").to_path_buf());
                }
                outcome
            })
            .collect();
        for staged in &batch {
            if staged.work.exists() {
                let _ = fs::remove_dir_all(&staged.work);
            }
        }
        // The renames themselves, durable in one more sync.
        let shard_paths: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
        if let Err(error) = sync_tree(&self.root, &shard_paths) {
            for result in results
                .iter_mut()
                .filter(|r| matches!(r, Ok(Committed::Written)))
            {
                let error = io::Error::new(error.kind(), error.to_string());
                *result = Err(io_error(&self.root, error));
            }
        }
        results
    }

    /// Renames one synced private folder into place.
    fn place(&self, staged: &Staged, solver_rev: u32) -> Result<Committed, ExecError> {
        let id = &staged.id;
        let target = self.object_dir(id);
        let shard = target.parent().expect("objects/ab");
        fs::create_dir_all(shard).map_err(|e| io_error(shard, e))?;
        match self.inspect(id) {
            ObjectState::Ok { solver_rev: rev } if rev == solver_rev => {
                return Ok(Committed::AlreadyThere)
            }
            ObjectState::Missing => {}
            ObjectState::Ok { .. } | ObjectState::Corrupt { .. } => {
                let aside = self
                    .root
                    .join("tmp")
                    .join(format!("replaced.{id}.{}", unique_suffix()));
                match fs::rename(&target, &aside) {
                    Ok(()) => {
                        let _ = fs::remove_dir_all(&aside);
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&target, e)),
                }
            }
        }
        match fs::rename(&staged.work, &target) {
            Ok(()) => Ok(Committed::Written),
            // Another runner committed between our check and our rename.
            Err(_) if matches!(self.inspect(id), ObjectState::Ok { solver_rev: rev } if rev == solver_rev) => {
                Ok(Committed::AlreadyThere)
            }
            Err(e) => Err(io_error(&target, e)),
        }
    }

    /// The recorded failure of a task, if any.
    pub fn failure(&self, id: &TaskId) -> Option<FailureRecord> {
        read_json(&self.failure_path(id)).ok()
    }

    pub(crate) fn record_failure(
        &self,
        id: &TaskId,
        record: &FailureRecord,
    ) -> Result<(), ExecError> {
        let bytes = serde_json::to_vec_pretty(record).expect("plain data");
        write_atomic(&self.failure_path(id), &bytes)
    }

    pub(crate) fn clear_failure(&self, id: &TaskId) {
        let _ = fs::remove_file(self.failure_path(id));
    }

    /// The task's checkpoint, if one of this revision exists and is readable.
    pub fn checkpoint(&self, id: &TaskId, solver_rev: u32) -> Option<Checkpoint> {
        match self.read_checkpoint(id, solver_rev) {
            CheckpointRead::Found(checkpoint) => Some(*checkpoint),
            _ => None,
        }
    }

    /// The task's checkpoint, or why the one there cannot be used (unreadable, of another task,
    /// of another solver revision). Whether its state fits the task is checked by the runner.
    pub fn read_checkpoint(&self, id: &TaskId, solver_rev: u32) -> CheckpointRead {
        let path = self.checkpoint_path(id);
        let checkpoint: Checkpoint = match read_json(&path) {
            Ok(checkpoint) => checkpoint,
            Err(ExecError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return CheckpointRead::Missing
            }
            Err(ExecError::Io { source, .. }) => {
                return CheckpointRead::Unusable {
                    reason: format!("unreadable: {source}"),
                }
            }
            Err(ExecError::Corrupt { reason, .. }) => {
                return CheckpointRead::Unusable {
                    reason: format!("not a checkpoint: {reason}"),
                }
            }
            Err(error) => {
                return CheckpointRead::Unusable {
                    reason: crate::error::chain(&error),
                }
            }
        };
        if checkpoint.task_id != id.to_hex() {
            return CheckpointRead::Unusable {
                reason: format!("the checkpoint of task {}", checkpoint.task_id),
            };
        }
        if checkpoint.solver_rev != solver_rev {
            return CheckpointRead::Unusable {
                reason: format!(
                    "written by solver revision {}, now {solver_rev}",
                    checkpoint.solver_rev
                ),
            };
        }
        CheckpointRead::Found(Box::new(checkpoint))
    }

    pub(crate) fn save_checkpoint(
        &self,
        id: &TaskId,
        checkpoint: &Checkpoint,
    ) -> Result<(), ExecError> {
        let bytes = serde_json::to_vec(checkpoint).expect("plain data");
        write_atomic(&self.checkpoint_path(id), &bytes)
    }

    pub(crate) fn remove_checkpoint(&self, id: &TaskId) {
        let _ = fs::remove_file(self.checkpoint_path(id));
    }
}

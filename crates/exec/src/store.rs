//! The content-addressed store (layout `sphereflow/store/v1`, docs/store.md).
//!
//! ```text
//! <store>/layout                      "sphereflow/store/v1"
//! <store>/objects/ab/<task_id>/       a committed result: spec.json, summary.json, final.npy,
//!                                     masses.npy, series.json, clusters.json, frames.npy,
//!                                     checksums.json (blake3 of every other file, written last)
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

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use serde::{Deserialize, Serialize};
use sphereflow_plan::TaskId;
use sphereflow_solver::{Cluster, Frames, SeriesRow, Simulation, State, Summary};

use crate::error::ExecError;
use crate::provenance::Provenance;

/// The layout's name and version, written in `<store>/layout`.
pub const STORE_LAYOUT: &str = "sphereflow/store/v1";

/// The files of an object, in the order they are written (`checksums.json` comes last).
pub const OBJECT_FILES: &[&str] = &[
    "spec.json",
    "summary.json",
    "final.npy",
    "masses.npy",
    "series.json",
    "clusters.json",
    "frames.npy",
];

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

/// `summary.json`: the scalar results, how long they took and where they were computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSummary {
    /// The solver's summary.
    pub summary: Summary,
    /// Wall time of the computation (all sessions of it, if resumed).
    pub runtime_s: f64,
    /// The solver's numerical revision.
    pub solver_rev: u32,
    /// Where, when and by what it was computed.
    pub provenance: Provenance,
    /// The snapshots in `frames.npy`, in order.
    pub frames: Vec<FrameIndex>,
}

/// Everything a committed object holds, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    /// The task.
    pub spec: TaskSpec,
    /// Scalar results and provenance.
    pub summary: StoredSummary,
    /// Final atoms.
    pub final_state: State,
    /// The time series.
    pub series: Vec<SeriesRow>,
    /// Final clusters, heaviest first.
    pub clusters: Vec<Cluster>,
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

/// A store on disk.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
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

/// Writes a file atomically: a temporary beside it, synced, renamed over it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExecError> {
    let dir = path.parent().expect("store files live in a folder");
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

fn npy_bytes(values: &[f64], shape: &[u64]) -> Vec<u8> {
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

fn read_npy(path: &Path) -> Result<(Vec<u64>, Vec<f64>), ExecError> {
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| io_error(path, e))?;
    let shape = npy.shape().to_vec();
    let values = npy.into_vec::<f64>().map_err(|e| io_error(path, e))?;
    Ok((shape, values))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ExecError> {
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| ExecError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The bytes of every object file for a finished run.
pub(crate) struct ObjectContent {
    files: Vec<(&'static str, Vec<u8>)>,
}

impl ObjectContent {
    /// Encodes a finished run.
    pub(crate) fn new(
        spec: &TaskSpec,
        summary: &StoredSummary,
        final_state: &State,
        series: &[SeriesRow],
        clusters: &[Cluster],
        frames: &Frames,
    ) -> ObjectContent {
        let dim = final_state.dim;
        let mut frame_rows = Vec::new();
        let mut rows = 0u64;
        for frame in &frames.frames {
            for (x, m) in frame
                .state
                .positions
                .chunks_exact(dim)
                .zip(&frame.state.masses)
            {
                frame_rows.push(*m);
                frame_rows.extend_from_slice(x);
                rows += 1;
            }
        }
        let files = vec![
            ("spec.json", json(spec)),
            ("summary.json", json(summary)),
            (
                "final.npy",
                npy_bytes(
                    &final_state.positions,
                    &[final_state.len() as u64, dim as u64],
                ),
            ),
            (
                "masses.npy",
                npy_bytes(&final_state.masses, &[final_state.len() as u64]),
            ),
            ("series.json", json(series)),
            ("clusters.json", json(clusters)),
            (
                "frames.npy",
                npy_bytes(&frame_rows, &[rows, dim as u64 + 1]),
            ),
        ];
        ObjectContent { files }
    }
}

/// Pretty JSON with a final newline.
fn json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("plain data");
    bytes.push(b'\n');
    bytes
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
        for dir in ["objects", "leases", "checkpoints", "failed", "tmp"] {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(|e| io_error(&path, e))?;
        }
        let layout = root.join("layout");
        match fs::read_to_string(&layout) {
            Ok(text) if text.trim() == STORE_LAYOUT => {}
            Ok(text) => {
                return Err(ExecError::Layout {
                    path: layout,
                    found: text.trim().to_string(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                write_atomic(&layout, format!("{STORE_LAYOUT}\n").as_bytes())?
            }
            Err(e) => return Err(io_error(&layout, e)),
        }
        Ok(store)
    }

    /// Opens a store only if it exists (for read-only commands: nothing is created).
    ///
    /// # Errors
    /// A folder that holds another layout.
    pub fn open_existing(root: &Path) -> Result<Option<Store>, ExecError> {
        let layout = root.join("layout");
        match fs::read_to_string(&layout) {
            Ok(text) if text.trim() == STORE_LAYOUT => Ok(Some(Store {
                root: root.to_path_buf(),
            })),
            Ok(text) => Err(ExecError::Layout {
                path: layout,
                found: text.trim().to_string(),
            }),
            Err(_) => Ok(None),
        }
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
        let dir = self.object_dir(id);
        if !dir.exists() {
            return ObjectState::Missing;
        }
        let corrupt = |reason: String| ObjectState::Corrupt { reason };
        let checksums: serde_json::Map<String, serde_json::Value> =
            match read_json(&dir.join("checksums.json")) {
                Ok(map) => map,
                Err(ExecError::Io { source, .. }) => {
                    return corrupt(format!("checksums.json unreadable: {source}"))
                }
                Err(error) => return corrupt(format!("checksums.json: {error}")),
            };
        for name in OBJECT_FILES {
            let Some(expected) = checksums.get(*name).and_then(|v| v.as_str()) else {
                return corrupt(format!("checksums.json lists no {name}"));
            };
            let bytes = match fs::read(dir.join(name)) {
                Ok(bytes) => bytes,
                Err(e) => return corrupt(format!("{name}: {e}")),
            };
            if blake3::hash(&bytes).to_hex().as_str() != expected {
                return corrupt(format!("{name}: checksum mismatch"));
            }
        }
        match read_json::<StoredSummary>(&dir.join("summary.json")) {
            Ok(summary) => ObjectState::Ok {
                solver_rev: summary.solver_rev,
            },
            Err(error) => corrupt(format!("summary.json: {error}")),
        }
    }

    /// Reads a committed object (verify it first with [`Store::inspect`]).
    ///
    /// # Errors
    /// Missing or malformed files.
    pub fn load(&self, id: &TaskId) -> Result<StoredResult, ExecError> {
        let dir = self.object_dir(id);
        let spec: TaskSpec = read_json(&dir.join("spec.json"))?;
        let summary: StoredSummary = read_json(&dir.join("summary.json"))?;
        let (shape, positions) = read_npy(&dir.join("final.npy"))?;
        let dim = shape.get(1).copied().unwrap_or(1) as usize;
        let (_, masses) = read_npy(&dir.join("masses.npy"))?;
        let final_state = State {
            dim,
            positions,
            masses,
        };
        let series = read_json(&dir.join("series.json"))?;
        let clusters = read_json(&dir.join("clusters.json"))?;
        let (_, rows) = read_npy(&dir.join("frames.npy"))?;
        let mut frames = Vec::with_capacity(summary.frames.len());
        let mut offset = 0;
        for index in &summary.frames {
            let mut positions = Vec::with_capacity(index.atoms * dim);
            let mut masses = Vec::with_capacity(index.atoms);
            for row in rows[offset..offset + index.atoms * (dim + 1)].chunks_exact(dim + 1) {
                masses.push(row[0]);
                positions.extend_from_slice(&row[1..]);
            }
            offset += index.atoms * (dim + 1);
            frames.push((
                index.step,
                index.t,
                State {
                    dim,
                    positions,
                    masses,
                },
            ));
        }
        Ok(StoredResult {
            spec,
            summary,
            final_state,
            series,
            clusters,
            frames,
        })
    }

    /// Commits an object: written in a private folder, synced, renamed into place. A corrupt
    /// or stale object already there is replaced; a valid one of this revision is kept.
    ///
    /// # Errors
    /// IO errors (a full disk among them); nothing partial is left in `objects/`.
    pub(crate) fn commit(
        &self,
        id: &TaskId,
        content: &ObjectContent,
        solver_rev: u32,
    ) -> Result<Committed, ExecError> {
        let work = self
            .root
            .join("tmp")
            .join(format!("commit.{id}.{}", unique_suffix()));
        let result = self.commit_from(&work, id, content, solver_rev);
        if work.exists() {
            let _ = fs::remove_dir_all(&work);
        }
        result
    }

    fn commit_from(
        &self,
        work: &Path,
        id: &TaskId,
        content: &ObjectContent,
        solver_rev: u32,
    ) -> Result<Committed, ExecError> {
        fs::create_dir_all(work).map_err(|e| io_error(work, e))?;
        let mut checksums = serde_json::Map::new();
        for (name, bytes) in &content.files {
            write_synced(&work.join(name), bytes)?;
            checksums.insert(
                (*name).into(),
                blake3::hash(bytes).to_hex().to_string().into(),
            );
        }
        let checksums = serde_json::to_vec_pretty(&checksums).expect("plain data");
        write_synced(&work.join("checksums.json"), &checksums)?;
        sync_dir(work)?;
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
        match fs::rename(work, &target) {
            Ok(()) => {}
            // Another runner committed between our check and our rename.
            Err(_) if matches!(self.inspect(id), ObjectState::Ok { solver_rev: rev } if rev == solver_rev) => {
                return Ok(Committed::AlreadyThere)
            }
            Err(e) => return Err(io_error(&target, e)),
        }
        sync_dir(shard)?;
        Ok(Committed::Written)
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
        let checkpoint: Checkpoint = read_json(&self.checkpoint_path(id)).ok()?;
        (checkpoint.task_id == id.to_hex() && checkpoint.solver_rev == solver_rev)
            .then_some(checkpoint)
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

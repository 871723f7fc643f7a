//! Canonical task identity (scheme `sphereflow/task/v1`).
//!
//! `task_id = blake3("sphereflow/task/v1\0" ++ canonical)`, hex, where `canonical` is one line
//! `path=value\n` per parameter that differs from its documented default, sorted by path.
//! Values are typed by the schema, never by how the TOML was written:
//! - integer: `i:` and the decimal value (`i:1000`);
//! - float: `f:` and the 16 lower-case hex digits of its IEEE-754 bits, −0 written as 0
//!   (`f:4024000000000000` for 10; an integer written for a float parameter is converted first);
//! - bool: `b:true` / `b:false`; enum: `s:` and the name (`s:gelu`);
//! - file: `blake3:` and the hex blake3 hash of the file's bytes (its path never enters).
//!
//! Defaults that follow another parameter (`perceptron.width` = `model.dim`,
//! `integrator.retraction` = `exp` if `model.dim` = 2 else `normalize`) are omitted when equal
//! to the value they follow to. Adding a parameter later with a default keeps every old id.
//! Parameters the task's solver does not read ([`Solver::reads`]: `meanfield.*` and the initial
//! laws for particles; the particle count, `init.seed`, `integrator.*` and `stop.*` for
//! `model.solver = "meanfield"`) are omitted whatever their value.
//!
//! The planner encodes each distinct value once ([`Entry`]) and assembles a task's canonical
//! form from its entries, so planning a million tasks hashes each input file once.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::schema::{
    check, default_value, suggest, Kind, ParamSpec, PlanError, Setting, Solver, Typed,
};
use crate::SCHEMA;

/// The scheme's name and version, hashed in front of the canonical form.
pub const TASK_ID_SCHEME: &str = "sphereflow/task/v1";

/// A task's id: the blake3 hash of the scheme and its canonical form; shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId(blake3::Hash);

impl TaskId {
    /// The id as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        self.0.to_hex().to_string()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<TaskId> {
        blake3::Hash::from_hex(text).ok().map(TaskId)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.0.to_hex())
    }
}

impl PartialOrd for TaskId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TaskId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

/// A task's canonical form and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskIdentity {
    /// The canonical text that was hashed (after the scheme prefix).
    pub canonical: String,
    /// Hex blake3 of the scheme prefix and the canonical text.
    pub id: String,
}

/// Hashes of input files by path, so each file is read once however many tasks use it.
pub type FileHashes = HashMap<String, String>;

/// When a value is left out of the canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Omit {
    /// It equals the parameter's fixed default.
    Always,
    /// It differs from the fixed default, or the parameter has none.
    Never,
    /// It equals the default that follows `model.dim` (width, retraction): decided per task.
    IfFollowsDim,
}

/// One checked, encoded parameter value: a line of a canonical form.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The parameter.
    pub path: &'static str,
    /// The value, typed by the schema.
    pub(crate) typed: Typed,
    /// `path=code\n`.
    line: String,
    omit: Omit,
}

impl Entry {
    /// Checks a setting against its parameter and encodes it; file inputs are hashed (once per
    /// path, through `files`).
    ///
    /// # Errors
    /// Invalid values and unreadable files, naming the key and where it was written.
    pub fn new(
        spec: &'static ParamSpec,
        setting: &Setting,
        files: &mut FileHashes,
    ) -> Result<Entry, PlanError> {
        let typed = check(spec, setting)?;
        let code = match (&spec.kind, &typed) {
            (Kind::File, Typed::Text(path)) => {
                if let Some(hash) = files.get(path) {
                    format!("blake3:{hash}")
                } else {
                    // In a stream, from a regular file only: `/dev/zero` is refused, not read.
                    let hash = crate::npy::hash_file(std::path::Path::new(path)).map_err(|e| {
                        PlanError::InvalidValue {
                            origin: setting.origin.clone(),
                            key: spec.path.into(),
                            reason: format!("{path}: {e}"),
                        }
                    })?;
                    files.insert(path.clone(), hash.clone());
                    format!("blake3:{hash}")
                }
            }
            (_, value) => encode(value),
        };
        let omit = match spec.path {
            "perceptron.width" | "integrator.retraction" => Omit::IfFollowsDim,
            _ if default_value(spec).as_ref() == Some(&typed) => Omit::Always,
            _ => Omit::Never,
        };
        Ok(Entry {
            path: spec.path,
            line: format!("{}={code}\n", spec.path),
            typed,
            omit,
        })
    }
}

fn encode(value: &Typed) -> String {
    match value {
        Typed::Int(i) => format!("i:{i}"),
        Typed::Float(f) => {
            let f = if *f == 0.0 { 0.0 } else { *f };
            format!("f:{:016x}", f.to_bits())
        }
        Typed::Bool(b) => format!("b:{b}"),
        Typed::Text(s) => format!("s:{s}"),
    }
}

/// The default a parameter takes when it follows `model.dim`.
fn followed_default(path: &str, dim: i64) -> Typed {
    match path {
        "perceptron.width" => Typed::Int(dim),
        _ => Typed::Text(if dim == 2 { "exp" } else { "normalize" }.into()),
    }
}

/// The canonical form of a task from its entries (one per set parameter, any order), and its id.
pub(crate) fn canonical_of(entries: &mut [&Entry]) -> (String, TaskId) {
    entries.sort_unstable_by_key(|e| e.path);
    let dim = entries
        .iter()
        .find(|e| e.path == "model.dim")
        .map_or(2, |e| match e.typed {
            Typed::Int(d) => d,
            _ => unreachable!("model.dim is an integer"),
        });
    let solver = entries
        .iter()
        .find(|e| e.path == "model.solver")
        .map_or(Solver::Particles, |e| match &e.typed {
            Typed::Text(name) => Solver::from_name(name).expect("checked"),
            _ => unreachable!("model.solver is an enum"),
        });
    let mut canonical = String::with_capacity(entries.len() * 32);
    for entry in entries.iter() {
        let omitted = !solver.reads(entry.path)
            || match entry.omit {
                Omit::Always => true,
                Omit::Never => false,
                Omit::IfFollowsDim => entry.typed == followed_default(entry.path, dim),
            };
        if !omitted {
            canonical.push_str(&entry.line);
        }
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(TASK_ID_SCHEME.as_bytes());
    hasher.update(b"\0");
    hasher.update(canonical.as_bytes());
    (canonical, TaskId(hasher.finalize()))
}

/// The identity of the task the settings describe.
///
/// # Errors
/// Invalid values (as `resolve`), and file inputs that cannot be read.
pub fn task_id(settings: &BTreeMap<String, Setting>) -> Result<TaskIdentity, PlanError> {
    task_id_in(SCHEMA, settings)
}

/// [`task_id`] against a given schema (the real one is [`SCHEMA`]; tests extend it to show that
/// a new parameter at its default keeps every id).
///
/// # Errors
/// As [`task_id`].
pub fn task_id_in(
    schema: &'static [ParamSpec],
    settings: &BTreeMap<String, Setting>,
) -> Result<TaskIdentity, PlanError> {
    let mut files = FileHashes::new();
    let mut entries = Vec::with_capacity(settings.len());
    for (path, setting) in settings {
        let spec = schema
            .iter()
            .find(|s| s.path == path)
            .ok_or_else(|| PlanError::UnknownKey {
                origin: setting.origin.clone(),
                key: path.clone(),
                suggestion: suggest(path),
            })?;
        entries.push(Entry::new(spec, setting, &mut files)?);
    }
    let mut refs: Vec<&Entry> = entries.iter().collect();
    let (canonical, id) = canonical_of(&mut refs);
    Ok(TaskIdentity {
        canonical,
        id: id.to_hex(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::parse_set;
    use crate::Sweep;
    use std::path::Path;

    fn id_of_toml(text: &str) -> String {
        let sweep = Sweep::parse(text, "t.toml", Path::new("."), "t").unwrap();
        task_id(&sweep.fixed).unwrap().id
    }

    fn id_of_sets(sets: &[&str]) -> TaskIdentity {
        task_id(&sets.iter().map(|s| parse_set(s).unwrap()).collect()).unwrap()
    }

    /// Golden ids: these must never change (a change means every cached result is recomputed).
    /// The expected values were computed independently with Python's blake3 from the scheme in
    /// docs/task-id.md.
    #[test]
    fn golden_ids() {
        let cases: [(&[&str], &str); 4] = [
            (
                &[],
                "881bd95ce7b634ab75f4db6b030e8ef9ddee770b59f425085b6773c66bf2f4d8",
            ),
            (
                &["model.beta=10"],
                "07773548b52fbc2c5851d70933d72ed1d31ce2bffbc6d41895ff7a080563ac85",
            ),
            (
                &["model.dim=3", "model.particles=500", "perceptron.seed=111"],
                "2dff1490fa40498a8eeb678ca08b8f8ee21f6a6243ac102f999991a78ab51bae",
            ),
            (
                &[
                    "perceptron.activation=none",
                    "model.beta=0.5",
                    "model.attention=sa",
                ],
                "b4013610cbef1138b6fea6201f3f2ea2d391e9500215c137beedacf9b515789d",
            ),
        ];
        for (sets, expected) in cases {
            let identity = id_of_sets(sets);
            assert_eq!(identity.id, expected, "{sets:?}\n{}", identity.canonical);
        }
    }

    #[test]
    fn formatting_key_order_number_spelling_and_explicit_defaults_do_not_matter() {
        let a = id_of_toml("[model]\nbeta = 10\ndim = 2\n[perceptron]\nactivation = \"gelu\"\n");
        let b = id_of_toml(
            "[perceptron]\n activation='gelu'\nwidth = 2\n\n[model]\nbeta=10.0 # ten\n\
             [stop]\nmax_steps = 200000\n[integrator]\nretraction = \"exp\"\n",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn every_parameter_change_changes_the_id() {
        let base = id_of_sets(&[]).id;
        let changes = [
            "model.dim=3",
            "model.particles=999",
            "model.beta=1.0000000000000002",
            "model.kernel=paper",
            "model.attention=sa",
            "model.regime=ascent",
            "perceptron.activation=tanh",
            "perceptron.width=3",
            "perceptron.scale=2",
            "perceptron.scale_mode=norm",
            "perceptron.leaky_slope=0.02",
            "perceptron.seed=1",
            "init.seed=43",
            "integrator.method=rk4",
            "integrator.dt=0.05",
            "integrator.retraction=normalize",
            "integrator.tol=1e-7",
            "stop.max_steps=10",
            "stop.t_max=5",
            "stop.drift_tol=0",
            "stop.check_every=5",
            "stop.window=3",
            "measure.cluster_scale=0.4",
            "measure.cluster_cap=false",
            "measure.heavy_mass=0.1",
            "measure.merge_tol=1e-9",
            "measure.frames=200",
        ];
        let mut seen = std::collections::BTreeSet::from([base.clone()]);
        for change in changes {
            let id = id_of_sets(&[change]).id;
            assert!(seen.insert(id), "{change} collides");
        }
        assert_eq!(seen.len(), changes.len() + 1);
    }

    #[test]
    fn a_solver_s_id_ignores_the_parameters_it_does_not_read() {
        let meanfield = id_of_sets(&["model.solver=meanfield"]).id;
        assert_ne!(meanfield, id_of_sets(&[]).id);
        for unread in [
            "model.particles=10",
            "init.seed=1",
            "integrator.dt=0.01",
            "stop.max_steps=5",
            "measure.frames=200",
        ] {
            assert_eq!(
                id_of_sets(&["model.solver=meanfield", unread]).id,
                meanfield,
                "{unread}"
            );
            assert_ne!(id_of_sets(&[unread]).id, id_of_sets(&[]).id, "{unread}");
        }
        for read in [
            "meanfield.cells=1024",
            "init.law=cosine",
            "model.beta=3",
            "measure.heavy_mass=0.1",
        ] {
            assert_ne!(
                id_of_sets(&["model.solver=meanfield", read]).id,
                meanfield,
                "{read}"
            );
        }
        // The particle solver's ids are untouched by the mean-field keys.
        assert_eq!(id_of_sets(&["meanfield.cells=1024"]).id, id_of_sets(&[]).id);
    }

    #[test]
    fn negative_zero_is_zero_and_files_enter_by_content() {
        assert_eq!(
            id_of_sets(&["measure.merge_tol=-0.0"]).id,
            id_of_sets(&["measure.merge_tol=0"]).id
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.npy"), b"same bytes").unwrap();
        std::fs::write(dir.path().join("b.npy"), b"same bytes").unwrap();
        std::fs::write(dir.path().join("c.npy"), b"other bytes").unwrap();
        let id = |name: &str| {
            let text = format!("[init]\npositions_file = \"{name}\"\n");
            let sweep = Sweep::parse(&text, "t.toml", dir.path(), "t").unwrap();
            task_id(&sweep.fixed).unwrap().id
        };
        assert_eq!(id("a.npy"), id("b.npy"));
        assert_ne!(id("a.npy"), id("c.npy"));
    }
}

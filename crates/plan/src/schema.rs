//! Every parameter of DESIGN.md's table, and their resolution into solver parameters.
//!
//! Long file: `SCHEMA` is the one table of every parameter (type, default, range, doc).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sphereflow_meanfield::{InitialLaw, Limiter, MeanFieldParams, VonMises};
use sphereflow_solver::{
    Activation, Attention, InitParams, IntegratorParams, Kernel, MeasureParams, Method,
    ModelParams, PairKernel, Params, Perceptron, PerceptronParams, Regime, Retraction, ScaleMode,
    State, StopParams,
};
use thiserror::Error;
use toml::Value;

/// The type and range of a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// An integer at least `min`.
    Int {
        /// Smallest allowed value.
        min: i64,
    },
    /// A finite float; `min` with `exclusive` for `> min`.
    Float {
        /// Lower bound, if any.
        min: Option<f64>,
        /// Whether the bound itself is excluded.
        exclusive: bool,
        /// Upper bound (inclusive), if any.
        max: Option<f64>,
    },
    /// `true` or `false`.
    Bool,
    /// One of the listed names.
    Enum(&'static [&'static str]),
    /// A path to a data file, relative to the sweep file.
    File,
}

/// One parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// `section.key`.
    pub path: &'static str,
    /// Type and range.
    pub kind: Kind,
    /// The default, as written in a sweep file (`None`: no default, the parameter is optional;
    /// defaults that follow another parameter are described in `doc`).
    pub default: Option<&'static str>,
    /// What it means.
    pub doc: &'static str,
}

const fn float(min: Option<f64>, exclusive: bool) -> Kind {
    Kind::Float {
        min,
        exclusive,
        max: None,
    }
}

/// The schema: the single source of truth for parameters.
pub const SCHEMA: &[ParamSpec] = &[
    ParamSpec {
        path: "model.dim",
        kind: Kind::Int { min: 2 },
        default: Some("2"),
        doc: "ambient dimension d: particles on S^{d-1}",
    },
    ParamSpec {
        path: "model.particles",
        kind: Kind::Int { min: 1 },
        default: Some("1000"),
        doc: "number of particles n",
    },
    ParamSpec {
        path: "model.beta",
        kind: float(Some(0.0), true),
        default: Some("1.0"),
        doc: "inverse temperature β",
    },
    ParamSpec {
        path: "model.kernel",
        kind: Kind::Enum(&["shifted", "paper"]),
        default: Some("shifted"),
        doc: "attention weight exp(β(<x,y>-1)) (shifted) or exp(β<x,y>) (paper)",
    },
    ParamSpec {
        path: "model.attention",
        kind: Kind::Enum(&["usa", "sa"]),
        default: Some("usa"),
        doc: "unnormalized (usa) or softmax (sa) attention",
    },
    ParamSpec {
        path: "model.regime",
        kind: Kind::Enum(&["ascent", "descent"]),
        default: Some("descent"),
        doc: "ẋ = +F (ascent) or -F (descent)",
    },
    ParamSpec {
        path: "model.solver",
        kind: Kind::Enum(&["particles", "meanfield"]),
        default: Some("particles"),
        doc: "n particles (particles) or the density of infinitely many on S^1 (meanfield, MODEL.md §10)",
    },
    ParamSpec {
        path: "perceptron.activation",
        kind: Kind::Enum(&["relu", "gelu", "linear", "tanh", "leaky_relu", "none"]),
        default: Some("relu"),
        doc: "activation σ; none switches the perceptron off (the null run)",
    },
    ParamSpec {
        path: "perceptron.width",
        kind: Kind::Int { min: 1 },
        default: None,
        doc: "number of neurons m (default: model.dim)",
    },
    ParamSpec {
        path: "perceptron.scale",
        kind: float(Some(0.0), false),
        default: Some("1.0"),
        doc: "scale of the output weights s_j",
    },
    ParamSpec {
        path: "perceptron.scale_mode",
        kind: Kind::Enum(&["std", "norm"]),
        default: Some("std"),
        doc: "s_j ~ N(0, scale²) (std) or ±scale (norm)",
    },
    ParamSpec {
        path: "perceptron.leaky_slope",
        kind: float(None, false),
        default: Some("0.01"),
        doc: "slope of leaky_relu for negative arguments",
    },
    ParamSpec {
        path: "perceptron.seed",
        kind: Kind::Int { min: 0 },
        default: Some("777"),
        doc: "seed of the perceptron draw",
    },
    ParamSpec {
        path: "perceptron.weights_file",
        kind: Kind::File,
        default: None,
        doc: ".npy file, m × (d+1): row j is a_j (unit) then s_j",
    },
    ParamSpec {
        path: "init.seed",
        kind: Kind::Int { min: 0 },
        default: Some("42"),
        doc: "seed of the uniform initial positions",
    },
    ParamSpec {
        path: "init.positions_file",
        kind: Kind::File,
        default: None,
        doc: ".npy file: n × d unit rows, or [mass, x_1 .. x_d] rows (as --out writes)",
    },
    ParamSpec {
        path: "init.law",
        kind: Kind::Enum(&["uniform", "cosine", "von_mises"]),
        default: Some("uniform"),
        doc: "meanfield: initial density (cosine: 1/(2π) + amplitude cos(mode θ); von_mises: components)",
    },
    ParamSpec {
        path: "init.amplitude",
        kind: float(None, false),
        default: Some("0.01"),
        doc: "meanfield, law cosine: ε, at most 1/(2π) in absolute value",
    },
    ParamSpec {
        path: "init.mode",
        kind: Kind::Int { min: 1 },
        default: Some("1"),
        doc: "meanfield, law cosine: the mode k",
    },
    ParamSpec {
        path: "init.components",
        kind: Kind::Int { min: 1 },
        default: Some("1"),
        doc: "meanfield, law von_mises: equal-weight components centred at centre + 2πj/components",
    },
    ParamSpec {
        path: "init.concentration",
        kind: float(Some(0.0), false),
        default: Some("1.0"),
        doc: "meanfield, law von_mises: each component's concentration κ",
    },
    ParamSpec {
        path: "init.centre",
        kind: float(None, false),
        default: Some("0.0"),
        doc: "meanfield, law von_mises: angle of the first component (radians)",
    },
    ParamSpec {
        path: "integrator.method",
        kind: Kind::Enum(&["euler", "rk2", "rk4", "adaptive"]),
        default: Some("euler"),
        doc: "time stepping scheme",
    },
    ParamSpec {
        path: "integrator.dt",
        kind: float(Some(0.0), true),
        default: Some("0.1"),
        doc: "time step (initial step for adaptive)",
    },
    ParamSpec {
        path: "integrator.retraction",
        kind: Kind::Enum(&["normalize", "exp"]),
        default: None,
        doc: "map back onto the sphere (default: exp if model.dim = 2, else normalize)",
    },
    ParamSpec {
        path: "integrator.tol",
        kind: float(Some(0.0), true),
        default: Some("1e-6"),
        doc: "adaptive: largest position error per step",
    },
    ParamSpec {
        path: "integrator.pair_kernel",
        kind: Kind::Enum(&["auto", "direct", "spectral"]),
        default: Some("auto"),
        doc: "pair sums: direct (all pairs, SIMD) or spectral (S^1, O(nK)); auto picks the faster",
    },
    ParamSpec {
        path: "stop.max_steps",
        kind: Kind::Int { min: 1 },
        default: Some("200000"),
        doc: "cap on the number of steps",
    },
    ParamSpec {
        path: "stop.t_max",
        kind: float(Some(0.0), true),
        default: None,
        doc: "cap on the simulated time (none by default)",
    },
    ParamSpec {
        path: "stop.drift_tol",
        kind: float(Some(0.0), false),
        default: Some("1e-4"),
        doc: "convergence needs max_i |F_i| <= drift_tol (0: run to max_steps)",
    },
    ParamSpec {
        path: "stop.check_every",
        kind: Kind::Int { min: 1 },
        default: Some("10"),
        doc: "steps between checks of the stopping rule",
    },
    ParamSpec {
        path: "stop.window",
        kind: Kind::Int { min: 1 },
        default: Some("5"),
        doc: "checks with an unchanged cluster count needed to stop",
    },
    ParamSpec {
        path: "stop.certify",
        kind: Kind::Bool,
        default: Some("false"),
        doc: "certify the end state (Newton on the atoms, Hessian): the flow stops once settled",
    },
    ParamSpec {
        path: "stop.certify_merge",
        kind: Kind::Float {
            min: Some(0.0),
            exclusive: false,
            max: Some(3.0),
        },
        default: None,
        doc: "merge distance before certifying (default: the cluster radius if clusters are tight)",
    },
    ParamSpec {
        path: "stop.spread_tol",
        kind: Kind::Float {
            min: Some(0.0),
            exclusive: false,
            max: Some(0.5),
        },
        default: Some("1e-3"),
        doc: "a null descent run in a spread state (spread > r) stops once, over the window, max_i |F_i| <= drift_tol \
              and the energy changed by <= this fraction of its change since the start (0: never)",
    },
    ParamSpec {
        path: "measure.cluster_scale",
        kind: float(Some(0.0), true),
        default: Some("0.5"),
        doc: "c in the cluster radius r = c / sqrt(β)",
    },
    ParamSpec {
        path: "measure.cluster_cap",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "cap the counting radius at π/(2d)",
    },
    ParamSpec {
        path: "measure.heavy_mass",
        kind: Kind::Float {
            min: Some(0.0),
            exclusive: true,
            max: Some(1.0),
        },
        default: Some("0.05"),
        doc: "clusters of at least this mass are heavy atoms",
    },
    ParamSpec {
        path: "measure.merge_tol",
        kind: float(Some(0.0), false),
        default: Some("0"),
        doc: "merge particles closer than this (0: never)",
    },
    ParamSpec {
        path: "measure.frames",
        kind: Kind::Int { min: 2 },
        default: Some("24"),
        doc: "particle runs: evenly spaced snapshots of the particles kept along a run (frames.npy), \
              at most this many and at least half as many once the run has more checks, besides \
              the early checks and the final state; trajectories are drawn from them",
    },
    ParamSpec {
        path: "meanfield.cells",
        kind: Kind::Int { min: 8 },
        default: Some("512"),
        doc: "meanfield: number of cells M of the circle",
    },
    ParamSpec {
        path: "meanfield.cfl",
        kind: Kind::Float {
            min: Some(0.0),
            exclusive: true,
            max: Some(1.0),
        },
        default: Some("0.5"),
        doc: "meanfield: Courant number in (0, 1]; positivity is guaranteed up to 0.5",
    },
    ParamSpec {
        path: "meanfield.t_end",
        kind: float(Some(0.0), true),
        default: Some("10.0"),
        doc: "meanfield: final time",
    },
    ParamSpec {
        path: "meanfield.snapshots",
        kind: Kind::Int { min: 2 },
        default: Some("11"),
        doc: "meanfield: densities kept at t_end·j/(snapshots-1), the first and last included",
    },
    ParamSpec {
        path: "meanfield.limiter",
        kind: Kind::Enum(&["van_leer", "minmod"]),
        default: Some("van_leer"),
        doc: "meanfield: MUSCL slope limiter",
    },
    ParamSpec {
        path: "meanfield.dt_max",
        kind: float(Some(0.0), true),
        default: None,
        doc: "meanfield: cap on the time step (default: none, the CFL and rate bounds alone)",
    },
    ParamSpec {
        path: "meanfield.max_steps",
        kind: Kind::Int { min: 1 },
        default: Some("10000000"),
        doc: "meanfield: steps allowed to reach t_end; a run that would need more is refused \
              before it starts (at plan time, from the attention's rate at the uniform state)",
    },
];

/// A parameter problem, naming the key and where it was written.
#[derive(Debug, Error)]
pub enum PlanError {
    /// A key that is not a parameter.
    #[error("{origin}: unknown parameter `{key}`{suggestion}")]
    UnknownKey {
        /// Where it was written.
        origin: String,
        /// The key.
        key: String,
        /// `; did you mean ...?` or empty.
        suggestion: String,
    },
    /// A value of the wrong type or out of range.
    #[error("{origin}: invalid value for `{key}`: {reason}")]
    InvalidValue {
        /// Where it was written.
        origin: String,
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A sweep file whose structure is wrong (syntax, axes, filters), naming the place and key.
    #[error("{origin}: {}{reason}", if key.is_empty() { String::new() } else { format!("`{key}`: ") })]
    Sweep {
        /// `file:line:col`.
        origin: String,
        /// The key, or empty when the problem is not at a key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A grid with more tasks than allowed without confirmation.
    #[error(
        "{origin}: the grid has {tasks} combinations ({shape}), more than {limit}; planning it needs \
         confirmation"
    )]
    TooLarge {
        /// The sweep file.
        origin: String,
        /// The axis sizes, `a × b × ...`.
        shape: String,
        /// Combinations before filters.
        tasks: u128,
        /// The limit.
        limit: u64,
    },
    /// A profile the sweep does not define.
    #[error("{file}: no [profile.{name}] (profiles: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownProfile {
        /// The sweep file.
        file: String,
        /// The profile asked for.
        name: String,
        /// The profiles the sweep defines.
        known: Vec<String>,
    },
    /// A file that could not be parsed or read.
    #[error("{origin}: {reason}")]
    File {
        /// The file.
        origin: String,
        /// What went wrong.
        reason: String,
    },
}

/// A value with where it came from (`file.toml` or `--set`).
#[derive(Debug, Clone)]
pub struct Setting {
    /// The value as written.
    pub value: Value,
    /// Where it was written.
    pub origin: String,
    /// Directory that relative file paths resolve against.
    pub base: PathBuf,
}

impl Setting {
    /// The value as a reader writes it: strings without quotes, everything else as in TOML.
    pub fn shown(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// A task's parameters resolved into solver inputs.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Typed parameters.
    pub params: Params,
    /// Initial positions read from `init.positions_file`.
    pub initial: Option<State>,
    /// Perceptron read from `perceptron.weights_file`.
    pub perceptron: Option<Perceptron>,
    /// With `model.solver = "meanfield"`: the density solver's numerics and initial law (the
    /// model itself is `params`' β, kernel, attention, regime and perceptron on S^1).
    pub meanfield: Option<MeanFieldSetup>,
}

/// Which solver a task runs (`model.solver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// n particles (the default).
    Particles,
    /// The mean-field density on S^1.
    MeanField,
}

impl Solver {
    /// The solver `model.solver` names.
    pub fn from_name(name: &str) -> Option<Solver> {
        match name {
            "particles" => Some(Solver::Particles),
            "meanfield" => Some(Solver::MeanField),
            _ => None,
        }
    }

    /// Whether this solver reads the parameter `path`: the particle solver ignores
    /// `meanfield.*` and the initial laws, the density solver the particle count, the seed of the
    /// positions, the particles' snapshots, the integrator and the stopping rule. A parameter a solver does not read never
    /// enters its tasks' identity.
    pub fn reads(self, path: &str) -> bool {
        let meanfield_only = path.starts_with("meanfield.")
            || matches!(
                path,
                "init.law"
                    | "init.amplitude"
                    | "init.mode"
                    | "init.components"
                    | "init.concentration"
                    | "init.centre"
            );
        let particles_only = matches!(path, "model.particles" | "init.seed" | "measure.frames")
            || path.starts_with("integrator.")
            || path.starts_with("stop.");
        match self {
            Solver::Particles => !meanfield_only,
            Solver::MeanField => !particles_only,
        }
    }
}

/// A mean-field task's inputs beyond the model.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanFieldSetup {
    /// `meanfield.*`.
    pub numerics: MeanFieldParams,
    /// The initial density: `init.law`, or the particles of `init.positions_file`.
    pub law: InitialLaw,
}

fn spec(path: &str) -> Option<&'static ParamSpec> {
    SCHEMA.iter().find(|s| s.path == path)
}

/// Edit distance, for suggestions.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Suggests the nearest parameter path for an unknown key.
pub fn suggest(key: &str) -> String {
    SCHEMA
        .iter()
        .map(|s| (distance(key, s.path), s.path))
        .chain(SCHEMA.iter().map(|s| {
            let short = s.path.split('.').nth(1).unwrap_or(s.path);
            (distance(key, short), s.path)
        }))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, p)| format!("; did you mean `{p}`?"))
        .unwrap_or_default()
}

/// Reads a value as TOML, a bare word as a string.
fn scalar(text: &str) -> Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.into()))
}

/// Parses a `--set path=value`: the value is read as TOML, a bare word as a string.
///
/// # Errors
/// A missing `=` or an unknown path.
pub fn parse_set(text: &str) -> Result<(String, Setting), PlanError> {
    let origin = format!("--set {text}");
    let Some((key, raw)) = text.split_once('=') else {
        return Err(PlanError::InvalidValue {
            origin,
            key: text.into(),
            reason: "expected path=value".into(),
        });
    };
    let key = key.trim();
    if spec(key).is_none() {
        return Err(PlanError::UnknownKey {
            origin,
            key: key.into(),
            suggestion: suggest(key),
        });
    }
    let raw = raw.trim();
    let value = scalar(raw);
    Ok((
        key.into(),
        Setting {
            value,
            origin,
            base: PathBuf::from("."),
        },
    ))
}

fn invalid(setting: &Setting, key: &str, reason: impl Into<String>) -> PlanError {
    PlanError::InvalidValue {
        origin: setting.origin.clone(),
        key: key.into(),
        reason: reason.into(),
    }
}

/// A checked value of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// An integer parameter.
    Int(i64),
    /// A float parameter (integers written for it are converted; −0 is 0).
    Float(f64),
    /// A bool parameter.
    Bool(bool),
    /// An enum's name, or a file input's path (resolved against the sweep file's folder).
    Text(String),
}

impl std::fmt::Display for Typed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Typed::Int(i) => write!(f, "{i}"),
            Typed::Float(x) => f.write_str(&float_text(*x)),
            Typed::Bool(b) => write!(f, "{b}"),
            Typed::Text(s) => f.write_str(s),
        }
    }
}

impl serde::Serialize for Typed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Typed::Int(i) => serializer.serialize_i64(*i),
            Typed::Float(x) => serializer.serialize_f64(*x),
            Typed::Bool(b) => serializer.serialize_bool(*b),
            Typed::Text(s) => serializer.serialize_str(s),
        }
    }
}

/// A float as a reader wants it: plainly in the usual range, in exponent form when huge or
/// tiny (`1e300`, not three hundred digits).
pub fn float_text(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A value as it would be written in TOML, for messages.
fn shown(value: &Value) -> String {
    match value {
        // As written (`2.0`), unless huge or tiny.
        Value::Float(x) if float_text(*x).contains('e') => float_text(*x),
        Value::Datetime(d) => format!("the date-time {d}"),
        Value::Array(_) => format!("the list {value}"),
        Value::Table(_) => format!("the table {value}"),
        other => other.to_string(),
    }
}

/// Checks a value against its parameter's type and range.
///
/// # Errors
/// A value of the wrong type or out of range, naming the key and where it was written.
pub fn check(spec: &ParamSpec, setting: &Setting) -> Result<Typed, PlanError> {
    let key = spec.path;
    let value = &setting.value;
    match spec.kind {
        Kind::Int { min } => {
            let Value::Integer(i) = value else {
                return Err(invalid(
                    setting,
                    key,
                    format!("expected an integer, got {}", shown(value)),
                ));
            };
            if *i < min {
                return Err(invalid(
                    setting,
                    key,
                    format!("must be at least {min}, got {i}"),
                ));
            }
            Ok(Typed::Int(*i))
        }
        Kind::Float {
            min,
            exclusive,
            max,
        } => {
            let x = match value {
                Value::Float(f) => *f,
                Value::Integer(i) => *i as f64,
                _ => {
                    return Err(invalid(
                        setting,
                        key,
                        format!("expected a number, got {}", shown(value)),
                    ))
                }
            };
            if !x.is_finite() {
                let x = float_text(x);
                return Err(invalid(setting, key, format!("must be finite, got {x}")));
            }
            if let Some(min) = min {
                if x < min || (exclusive && x == min) {
                    let op = if exclusive { ">" } else { ">=" };
                    return Err(invalid(
                        setting,
                        key,
                        format!("must be {op} {}, got {}", float_text(min), float_text(x)),
                    ));
                }
            }
            if let Some(max) = max {
                if x > max {
                    let (max, x) = (float_text(max), float_text(x));
                    return Err(invalid(setting, key, format!("must be <= {max}, got {x}")));
                }
            }
            Ok(Typed::Float(if x == 0.0 { 0.0 } else { x }))
        }
        Kind::Bool => match value {
            Value::Boolean(b) => Ok(Typed::Bool(*b)),
            _ => Err(invalid(
                setting,
                key,
                format!("expected true or false, got {}", shown(value)),
            )),
        },
        Kind::Enum(names) => match value {
            Value::String(s) if names.contains(&s.as_str()) => Ok(Typed::Text(s.clone())),
            _ => Err(invalid(
                setting,
                key,
                format!("expected one of {}, got {}", names.join(", "), shown(value)),
            )),
        },
        Kind::File => match value {
            Value::String(s) => Ok(Typed::Text(
                setting.base.join(s).to_string_lossy().into_owned(),
            )),
            _ => Err(invalid(
                setting,
                key,
                format!("expected a file path, got {}", shown(value)),
            )),
        },
    }
}

/// Reads an `.npy` input as (rows, columns, values) ([`crate::npy::read_npy`]).
fn read_npy_for(
    path: &Path,
    origin: &str,
    key: &str,
) -> Result<(usize, usize, Vec<f64>), PlanError> {
    crate::npy::read_npy(path).map_err(|reason| PlanError::InvalidValue {
        origin: origin.into(),
        key: key.into(),
        reason,
    })
}

fn parse_default(spec: &ParamSpec) -> Option<Typed> {
    let default = spec.default?;
    let setting = Setting {
        value: scalar(default),
        origin: "default".into(),
        base: PathBuf::from("."),
    };
    Some(check(spec, &setting).expect("defaults are valid"))
}

/// The typed default of a parameter that has a fixed one (parsed once per parameter).
pub fn default_value(spec: &ParamSpec) -> Option<Typed> {
    static DEFAULTS: std::sync::OnceLock<BTreeMap<&'static str, Option<Typed>>> =
        std::sync::OnceLock::new();
    let defaults =
        DEFAULTS.get_or_init(|| SCHEMA.iter().map(|s| (s.path, parse_default(s))).collect());
    match (defaults.get(spec.path), spec_of(spec.path)) {
        (Some(typed), Some(known)) if known.default == spec.default => typed.clone(),
        _ => parse_default(spec),
    }
}

/// Looks a parameter up by path.
pub fn spec_of(path: &str) -> Option<&'static ParamSpec> {
    spec(path)
}

/// Resolves settings into solver inputs: checks every value against the schema, fills the
/// defaults (including those that follow `model.dim`), and reads file inputs.
///
/// # Errors
/// The first invalid value, naming its key and origin.
pub fn resolve(settings: &BTreeMap<String, Setting>) -> Result<Resolved, PlanError> {
    let mut typed: BTreeMap<&'static str, Typed> = BTreeMap::new();
    for spec in SCHEMA {
        if let Some(setting) = settings.get(spec.path) {
            typed.insert(spec.path, check(spec, setting)?);
        } else if let Some(default) = default_value(spec) {
            typed.insert(spec.path, default);
        }
    }
    let int = |k: &str| match typed.get(k) {
        Some(Typed::Int(i)) => Some(*i),
        _ => None,
    };
    let float = |k: &str| match typed.get(k) {
        Some(Typed::Float(f)) => Some(*f),
        _ => None,
    };
    let text = |k: &str| match typed.get(k) {
        Some(Typed::Text(s)) => Some(s.clone()),
        _ => None,
    };
    let bool_of = |k: &str| matches!(typed.get(k), Some(Typed::Bool(true)));
    let dim = int("model.dim").expect("default") as usize;

    // File inputs fix the particle count and the perceptron width.
    let mut particles = int("model.particles").expect("default") as usize;
    let mut initial_values = None;
    if let Some(path) = text("init.positions_file") {
        let setting = &settings["init.positions_file"];
        let (rows, cols, values) =
            read_npy_for(Path::new(&path), &setting.origin, "init.positions_file")?;
        // n × d unit rows (equal masses), or the `[mass, x_1 .. x_d]` rows the tool writes.
        if cols != dim && cols != dim + 1 {
            return Err(invalid(
                setting,
                "init.positions_file",
                format!(
                    "{path}: {cols} columns, but model.dim = {dim}: expected {dim} (unit rows) \
                     or {} ([mass, x_1 .. x_{dim}] rows)",
                    dim + 1
                ),
            ));
        }
        if settings.contains_key("model.particles") && rows != particles {
            return Err(invalid(
                setting,
                "init.positions_file",
                format!("{path}: {rows} rows, but model.particles = {particles}"),
            ));
        }
        particles = rows;
        initial_values = Some((values, cols == dim + 1, setting.clone()));
    }
    let mut width = int("perceptron.width").map_or(dim, |w| w as usize);
    let mut weight_rows = None;
    if let Some(path) = text("perceptron.weights_file") {
        let setting = &settings["perceptron.weights_file"];
        let (rows, cols, values) =
            read_npy_for(Path::new(&path), &setting.origin, "perceptron.weights_file")?;
        if cols != dim + 1 {
            return Err(invalid(
                setting,
                "perceptron.weights_file",
                format!(
                    "{path}: {cols} columns, expected model.dim + 1 = {}",
                    dim + 1
                ),
            ));
        }
        width = rows;
        weight_rows = Some((rows, values, setting.clone()));
    }

    let params = Params {
        model: ModelParams {
            dim,
            particles,
            beta: float("model.beta").expect("default"),
            kernel: Kernel::from_name(&text("model.kernel").expect("default")).expect("checked"),
            attention: Attention::from_name(&text("model.attention").expect("default"))
                .expect("checked"),
            regime: Regime::from_name(&text("model.regime").expect("default")).expect("checked"),
        },
        perceptron: PerceptronParams {
            activation: Activation::from_name(&text("perceptron.activation").expect("default"))
                .expect("checked"),
            width,
            scale: float("perceptron.scale").expect("default"),
            scale_mode: ScaleMode::from_name(&text("perceptron.scale_mode").expect("default"))
                .expect("checked"),
            leaky_slope: float("perceptron.leaky_slope").expect("default"),
            seed: int("perceptron.seed").expect("default") as u64,
        },
        init: InitParams {
            seed: int("init.seed").expect("default") as u64,
        },
        integrator: IntegratorParams {
            method: Method::from_name(&text("integrator.method").expect("default"))
                .expect("checked"),
            dt: float("integrator.dt").expect("default"),
            retraction: text("integrator.retraction")
                .and_then(|r| Retraction::from_name(&r))
                .unwrap_or(if dim == 2 {
                    Retraction::Exp
                } else {
                    Retraction::Normalize
                }),
            tol: float("integrator.tol").expect("default"),
            pair_kernel: PairKernel::from_name(&text("integrator.pair_kernel").expect("default"))
                .expect("checked"),
        },
        stop: StopParams {
            max_steps: int("stop.max_steps").expect("default") as u64,
            t_max: float("stop.t_max"),
            drift_tol: float("stop.drift_tol").expect("default"),
            check_every: int("stop.check_every").expect("default") as u64,
            window: int("stop.window").expect("default") as u64,
            certify: bool_of("stop.certify"),
            certify_merge: float("stop.certify_merge"),
            spread_tol: float("stop.spread_tol").expect("default"),
        },
        measure: MeasureParams {
            cluster_scale: float("measure.cluster_scale").expect("default"),
            cluster_cap: bool_of("measure.cluster_cap"),
            heavy_mass: float("measure.heavy_mass").expect("default"),
            merge_tol: float("measure.merge_tol").expect("default"),
            frames: int("measure.frames").expect("default") as usize,
        },
    };
    // Constraints between parameters (the paper kernel's β limit, ...) are the solver's.
    if let Err(error) = params.validate() {
        let (key, reason) = match error {
            sphereflow_solver::SolverError::InvalidParameter { key, reason } => (key, reason),
            other => ("model", other.to_string()),
        };
        let origin = settings
            .get(key)
            .map_or_else(|| "defaults".to_string(), |s| s.origin.clone());
        return Err(PlanError::InvalidValue {
            origin,
            key: key.into(),
            reason,
        });
    }
    let initial = match initial_values {
        Some((values, with_masses, setting)) => {
            let state = if with_masses {
                State::from_mass_rows(dim, &values)
            } else {
                State::from_positions(dim, &values)
            };
            Some(state.map_err(|e| invalid(&setting, "init.positions_file", e.to_string()))?)
        }
        None => None,
    };
    let perceptron = match weight_rows {
        Some((rows, values, setting)) => Some(
            Perceptron::from_rows(dim, rows, &values, &params.perceptron)
                .map_err(|e| invalid(&setting, "perceptron.weights_file", e.to_string()))?,
        ),
        None => None,
    };
    let solver = Solver::from_name(&text("model.solver").expect("default")).expect("checked");
    let law = text("init.law").expect("default");
    let meanfield = match solver {
        Solver::Particles => {
            if law != "uniform" {
                return Err(invalid(
                    &settings["init.law"],
                    "init.law",
                    format!(
                        "`{law}` is a law of the mean-field solver (model.solver = \"meanfield\"); \
                         particles start uniform (init.seed) or from init.positions_file"
                    ),
                ));
            }
            None
        }
        Solver::MeanField => {
            let setup = meanfield_setup(settings, &typed, initial.as_ref())?;
            if dim != 2 {
                let setting = settings.get("model.dim").expect("dim 2 is the default");
                return Err(invalid(
                    setting,
                    "model.dim",
                    format!("the mean-field solver is on S^1 (model.dim = 2), got {dim}"),
                ));
            }
            Some(setup)
        }
    };
    Ok(Resolved {
        params,
        initial,
        perceptron,
        meanfield,
    })
}

/// The mean-field numerics and initial law of a task, checked with the keys they come from.
fn meanfield_setup(
    settings: &BTreeMap<String, Setting>,
    typed: &BTreeMap<&'static str, Typed>,
    initial: Option<&State>,
) -> Result<MeanFieldSetup, PlanError> {
    let int = |k: &str| match typed.get(k) {
        Some(Typed::Int(i)) => *i,
        _ => unreachable!("{k} has a default"),
    };
    let float = |k: &str| match typed.get(k) {
        Some(Typed::Float(f)) => *f,
        _ => unreachable!("{k} has a default"),
    };
    let text = |k: &str| match typed.get(k) {
        Some(Typed::Text(t)) => t.clone(),
        _ => unreachable!("{k} has a default"),
    };
    let refuse = |key: &str, reason: String| match settings.get(key) {
        Some(setting) => invalid(setting, key, reason),
        None => PlanError::InvalidValue {
            origin: "defaults".into(),
            key: key.into(),
            reason,
        },
    };
    let mut numerics = MeanFieldParams::new(
        int("meanfield.cells") as usize,
        float("meanfield.cfl"),
        float("meanfield.t_end"),
        int("meanfield.snapshots") as usize,
    );
    numerics.limiter = match text("meanfield.limiter").as_str() {
        "minmod" => Limiter::Minmod,
        _ => Limiter::VanLeer,
    };
    numerics.dt_max = match typed.get("meanfield.dt_max") {
        Some(Typed::Float(f)) => Some(*f),
        _ => None,
    };
    numerics.max_steps = int("meanfield.max_steps") as u64;
    if let Err(sphereflow_meanfield::MeanFieldError::InvalidParameter { key, reason }) =
        numerics.validate()
    {
        return Err(refuse(key, reason));
    }
    // A run whose steps are too short to reach t_end within the step cap is refused here, with
    // the continuum's rate (the solver checks again with its grid's own).
    let kernel = Kernel::from_name(&text("model.kernel")).expect("checked");
    let attention = Attention::from_name(&text("model.attention")).expect("checked");
    let beta = float("model.beta");
    if beta.is_finite() && beta > 0.0 {
        let rate = sphereflow_meanfield::uniform_rate(beta, kernel, attention);
        if let Err(sphereflow_meanfield::MeanFieldError::InvalidParameter { key, reason }) =
            sphereflow_meanfield::check_step_budget(rate, beta, kernel, &numerics)
        {
            return Err(refuse(key, reason));
        }
    }
    let law_name = text("init.law");
    let law = match (initial, law_name.as_str()) {
        (Some(state), "uniform") => InitialLaw::Particles {
            angles: state
                .positions
                .chunks_exact(2)
                .map(|p| p[1].atan2(p[0]))
                .collect(),
            masses: state.masses.clone(),
        },
        (Some(_), other) => {
            return Err(refuse(
                "init.law",
                format!("`{other}` and init.positions_file both give the initial density"),
            ))
        }
        (None, "cosine") => {
            let amplitude = float("init.amplitude");
            if amplitude.abs() > 1.0 / std::f64::consts::TAU {
                return Err(refuse(
                    "init.amplitude",
                    format!(
                        "makes the density negative: |ε| must be at most 1/(2π) = {:.6}, got {amplitude}",
                        1.0 / std::f64::consts::TAU
                    ),
                ));
            }
            InitialLaw::Cosine {
                amplitude,
                mode: int("init.mode") as usize,
            }
        }
        (None, "von_mises") => {
            let components = int("init.components") as usize;
            if components > 1 << 16 {
                return Err(refuse(
                    "init.components",
                    format!("must be at most 65536, got {components}"),
                ));
            }
            let centre = float("init.centre");
            InitialLaw::VonMises(
                (0..components)
                    .map(|j| VonMises {
                        weight: 1.0,
                        centre: centre + std::f64::consts::TAU * j as f64 / components as f64,
                        concentration: float("init.concentration"),
                    })
                    .collect(),
            )
        }
        _ => InitialLaw::Uniform,
    };
    Ok(MeanFieldSetup { numerics, law })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_table() {
        let resolved = resolve(&BTreeMap::new()).unwrap();
        assert_eq!(
            resolved.params,
            sphereflow_solver::testing::default_params()
        );
    }

    fn resolve_sets(sets: &[&str]) -> Result<Resolved, PlanError> {
        resolve(&sets.iter().map(|s| parse_set(s).unwrap()).collect())
    }

    #[test]
    fn mean_field_tasks_resolve_their_numerics_and_law() {
        let resolved = resolve_sets(&[
            "model.solver=meanfield",
            "meanfield.cells=64",
            "meanfield.limiter=minmod",
            "init.law=cosine",
            "init.amplitude=0.1",
            "init.mode=3",
        ])
        .unwrap();
        let setup = resolved.meanfield.expect("a mean-field task");
        assert_eq!(setup.numerics.cells, 64);
        assert_eq!(setup.numerics.limiter, Limiter::Minmod);
        assert_eq!((setup.numerics.cfl, setup.numerics.t_end), (0.5, 10.0));
        assert_eq!(
            setup.law,
            InitialLaw::Cosine {
                amplitude: 0.1,
                mode: 3
            }
        );
        let mixture = resolve_sets(&[
            "model.solver=meanfield",
            "init.law=von_mises",
            "init.components=4",
            "init.concentration=8",
        ])
        .unwrap()
        .meanfield
        .unwrap()
        .law;
        let InitialLaw::VonMises(components) = mixture else {
            panic!("{mixture:?}")
        };
        assert_eq!(components.len(), 4);
        assert!((components[1].centre - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
        assert!(resolve_sets(&[]).unwrap().meanfield.is_none());
    }

    #[test]
    fn the_mean_field_step_budget_is_a_parameter() {
        // The paper kernel at β = 25: about 8.4e10 steps of at most cfl / rate to t = 10.
        let stiff = [
            "model.solver=meanfield",
            "model.kernel=paper",
            "model.beta=25",
        ];
        let error = resolve_sets(&stiff).unwrap_err().to_string();
        assert!(error.contains("`meanfield.t_end`"), "{error}");
        assert!(error.contains("meanfield.max_steps"), "{error}");
        let mut raised = stiff.to_vec();
        raised.push("meanfield.max_steps=100000000000");
        raised.push("meanfield.dt_max=0.01");
        let numerics = resolve_sets(&raised).unwrap().meanfield.unwrap().numerics;
        assert_eq!(numerics.max_steps, 100_000_000_000);
        assert_eq!(numerics.dt_max, Some(0.01));
        let shorter = resolve_sets(&[
            "model.solver=meanfield",
            "model.kernel=paper",
            "model.beta=25",
            "meanfield.t_end=1e-3",
        ]);
        assert!(shorter.is_ok(), "{shorter:?}");
        let defaults = resolve_sets(&["model.solver=meanfield"]).unwrap();
        let numerics = defaults.meanfield.unwrap().numerics;
        assert_eq!((numerics.max_steps, numerics.dt_max), (10_000_000, None));
        let error = resolve_sets(&["meanfield.max_steps=0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`meanfield.max_steps`"), "{error}");
        let error = resolve_sets(&["meanfield.dt_max=0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`meanfield.dt_max`"), "{error}");
    }

    #[test]
    fn bad_mean_field_parameters_name_their_key() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["meanfield.cells=4"],
                "`meanfield.cells`: must be at least 8, got 4",
            ),
            (
                &["meanfield.cfl=1.5"],
                "`meanfield.cfl`: must be <= 1, got 1.5",
            ),
            (&["meanfield.cfl=0"], "`meanfield.cfl`: must be > 0, got 0"),
            (
                &[
                    "model.solver=meanfield",
                    "init.law=cosine",
                    "init.amplitude=0.5",
                ],
                "`init.amplitude`: makes the density negative",
            ),
            (
                &["model.solver=meanfield", "model.dim=3"],
                "`model.dim`: the mean-field solver is on S^1",
            ),
            (
                &["init.law=cosine"],
                "`init.law`: `cosine` is a law of the mean-field solver",
            ),
        ];
        for (sets, expected) in cases {
            let error = resolve_sets(sets).unwrap_err().to_string();
            assert!(error.contains(expected), "{sets:?}: {error}");
            assert!(error.starts_with("--set "), "{error}");
        }
    }

    #[test]
    fn width_and_retraction_follow_the_dimension() {
        let (k, s) = parse_set("model.dim=3").unwrap();
        let resolved = resolve(&BTreeMap::from([(k, s)])).unwrap();
        assert_eq!(
            resolved.params,
            sphereflow_solver::testing::default_params_in(3)
        );
    }

    #[test]
    fn errors_name_the_key_and_suggest_near_misses() {
        let error = parse_set("model.bta=3").unwrap_err().to_string();
        assert_eq!(
            error,
            "--set model.bta=3: unknown parameter `model.bta`; did you mean `model.beta`?"
        );
        let (k, s) = parse_set("model.beta=-1").unwrap();
        let error = resolve(&BTreeMap::from([(k, s)])).unwrap_err().to_string();
        assert_eq!(
            error,
            "--set model.beta=-1: invalid value for `model.beta`: must be > 0, got -1"
        );
        let (k, s) = parse_set("model.regime=sideways").unwrap();
        let error = resolve(&BTreeMap::from([(k, s)])).unwrap_err().to_string();
        assert!(error.contains("expected one of ascent, descent"), "{error}");
    }

    #[test]
    fn integers_are_accepted_for_floats_but_not_the_reverse() {
        let (k, s) = parse_set("model.beta=5").unwrap();
        assert_eq!(
            resolve(&BTreeMap::from([(k, s)]))
                .unwrap()
                .params
                .model
                .beta,
            5.0
        );
        let (k, s) = parse_set("model.particles=5.5").unwrap();
        assert!(resolve(&BTreeMap::from([(k, s)])).is_err());
    }
}

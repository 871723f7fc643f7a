//! Typed parameters of one simulation (MODEL.md), valid by construction once `validate` passed.
//!
//! These types carry no defaults of their own: the parameter schema in `sphereflow-plan` is the
//! single source of truth for defaults, ranges and documentation, and builds a `Params` from a
//! task. `Params::validate` re-checks the invariants the numerics rely on, so the solver is safe
//! whoever builds the value.

use serde::{Deserialize, Serialize};

use crate::error::SolverError;

/// Largest β for which the `paper` kernel `exp(β <x,y>)` is evaluated: `e^700` is still finite in
/// f64 with room for the sums over particles; beyond it the task is refused up front.
pub const PAPER_KERNEL_BETA_MAX: f64 = 700.0;

/// Most coordinates a state or a perceptron may hold (`particles × dim`, `width × (dim + 1)`):
/// 8 GB of f64. Larger sizes are refused up front rather than failing to allocate (or
/// overflowing the size computation) in the middle of a run.
pub const MAX_COORDINATES: usize = 1_000_000_000;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in sweep files, tables and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the name used in sweep files; `None` for anything else.
            pub fn from_name(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// The attention weight `w_ij` (MODEL.md §2).
    Kernel {
        /// `exp(β(<x_i,x_j> - 1))`, in (0, 1]: never overflows.
        Shifted => "shifted",
        /// `exp(β <x_i,x_j>)`, the paper's formulas verbatim.
        Paper => "paper",
    }
}

named_enum! {
    /// Unnormalized or softmax-normalized attention (MODEL.md §2).
    Attention {
        /// Unnormalized: `A_i = Σ_j m_j w_ij P_{x_i} x_j`.
        Usa => "usa",
        /// Softmax-normalized: the USA field divided by `Σ_j m_j w_ij`.
        Sa => "sa",
    }
}

named_enum! {
    /// The sign of the dynamics (MODEL.md §4).
    Regime {
        /// `ẋ = +F`: the energy increases, attention attracts.
        Ascent => "ascent",
        /// `ẋ = -F`: the energy decreases, attention repels.
        Descent => "descent",
    }
}

named_enum! {
    /// The perceptron's activation σ (MODEL.md §3).
    Activation {
        /// `max(s, 0)`.
        Relu => "relu",
        /// `s Φ(s)`, exact erf form.
        Gelu => "gelu",
        /// `s`.
        Linear => "linear",
        /// `tanh s`.
        Tanh => "tanh",
        /// `s` for `s > 0`, `α s` else.
        LeakyRelu => "leaky_relu",
        /// No perceptron: the null run.
        None => "none",
    }
}

named_enum! {
    /// How the perceptron's output weights `s_j` are drawn (MODEL.md §3).
    ScaleMode {
        /// `s_j ~ N(0, scale²)`.
        Std => "std",
        /// `s_j = ±scale` with a random sign.
        Norm => "norm",
    }
}

named_enum! {
    /// The time stepping scheme (MODEL.md §5).
    Method {
        /// Explicit Euler.
        Euler => "euler",
        /// Heun's second-order Runge–Kutta.
        Rk2 => "rk2",
        /// Classical fourth-order Runge–Kutta.
        Rk4 => "rk4",
        /// Dormand–Prince 5(4) with error control.
        Adaptive => "adaptive",
    }
}

named_enum! {
    /// How a step in the tangent space is mapped back onto the sphere (MODEL.md §5).
    Retraction {
        /// `(x + v) / |x + v|`.
        Normalize => "normalize",
        /// Along the great circle: `x cos|v| + v/|v| sin|v|`.
        Exp => "exp",
    }
}

named_enum! {
    /// How the attention pair sums are computed (`integrator.pair_kernel`). Every choice gives
    /// the same field to within the spectral kernel's accuracy (drift error at most `1e-10`
    /// relative to the largest drift plus `1e-13`), deterministically and whatever the thread
    /// count.
    #[derive(Default)]
    PairKernel {
        /// The spectral kernel on S^1 when its cost model says it is faster, else direct.
        #[default]
        Auto => "auto",
        /// Every pair, `O(n²)`: the tiled SIMD kernel.
        Direct => "direct",
        /// Fourier modes on S^1, `O(n K)` (needs `model.dim = 2`).
        Spectral => "spectral",
    }
}

/// `[model]`: the particle system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Ambient dimension `d`: particles live on `S^{d-1}`.
    pub dim: usize,
    /// Number of particles `n`.
    pub particles: usize,
    /// Inverse temperature β.
    pub beta: f64,
    /// Attention weight convention.
    pub kernel: Kernel,
    /// Unnormalized or softmax attention.
    pub attention: Attention,
    /// Ascent or descent.
    pub regime: Regime,
}

/// `[perceptron]`: the feed-forward drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerceptronParams {
    /// The activation σ; `None` switches the perceptron off.
    pub activation: Activation,
    /// Number of neurons `m`.
    pub width: usize,
    /// Scale of the output weights.
    pub scale: f64,
    /// How output weights are drawn.
    pub scale_mode: ScaleMode,
    /// Slope α of `leaky_relu` for negative arguments.
    pub leaky_slope: f64,
    /// Seed of the weight draw.
    pub seed: u64,
}

/// `[init]`: where the particles start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitParams {
    /// Seed of the uniform initial draw.
    pub seed: u64,
}

/// `[integrator]`: time stepping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegratorParams {
    /// Scheme.
    pub method: Method,
    /// Time step (the initial one for `adaptive`).
    pub dt: f64,
    /// Map back onto the sphere.
    pub retraction: Retraction,
    /// Local error tolerance per step of `adaptive` (largest position error of any particle).
    pub tol: f64,
    /// How the attention pair sums are computed.
    #[serde(default)]
    pub pair_kernel: PairKernel,
}

/// `[stop]`: when a run ends (MODEL.md §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopParams {
    /// Hard cap on the number of steps.
    pub max_steps: u64,
    /// Optional cap on the simulated time.
    pub t_max: Option<f64>,
    /// Convergence needs `max_i |F_i| <= drift_tol`; 0 disables convergence.
    pub drift_tol: f64,
    /// Steps between two checks of the stopping rule (and two rows of the time series).
    pub check_every: u64,
    /// Number of consecutive checks with an unchanged cluster count needed to stop.
    pub window: u64,
    /// Certify the end state (MODEL.md §9): once the cluster count has been stable for `window`
    /// checks and every cluster is within the radius, the flow stops and Newton's method on the
    /// atoms takes over; the certificate is part of the result.
    #[serde(default)]
    pub certify: bool,
    /// Particles within this distance merge into one atom before certification (`None`: the
    /// cluster radius when the state is a set of tight clusters, else only coincident ones).
    #[serde(default)]
    pub certify_merge: Option<f64>,
    /// A pure-attention descent run (no perceptron) in a spread state (largest cluster spread
    /// above the radius, which the authors' rule cannot stop) stops as [`StopReason::StationarySpread`](crate::StopReason) once, over the last
    /// `window` checks, the largest drift has stayed within `drift_tol` and the energy has changed
    /// by at most this fraction of its change since the start; 0 disables it (the default of parameters serialized before it existed), and so
    /// does `drift_tol = 0`.
    #[serde(default)]
    pub spread_tol: f64,
}

/// `[measure]`: clusters, atoms and merging (MODEL.md §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureParams {
    /// `c` in the cluster radius `r = c / sqrt(β)`.
    pub cluster_scale: f64,
    /// Cap the counting radius at `π / (2d)`.
    pub cluster_cap: bool,
    /// Clusters of at least this mass are heavy atoms.
    pub heavy_mass: f64,
    /// Particles closer than this geodesic distance are merged into one atom; 0 never merges.
    pub merge_tol: f64,
    /// Evenly spaced snapshots of the particles kept along a run, at most this many and at
    /// least half as many once the run has more checks (besides the early checks and the final
    /// state, see [`Frames`](crate::run::Frames)): what trajectories are drawn from.
    #[serde(default = "default_frames")]
    pub frames: usize,
}

/// The default of [`MeasureParams::frames`] (the default of parameters serialized before it
/// existed).
pub const DEFAULT_FRAMES: usize = 24;

/// Most snapshots a run may keep ([`MeasureParams::frames`]).
pub const MAX_FRAMES: usize = 1_000_000;

fn default_frames() -> usize {
    DEFAULT_FRAMES
}

/// Every parameter of one simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// `[model]`.
    pub model: ModelParams,
    /// `[perceptron]`.
    pub perceptron: PerceptronParams,
    /// `[init]`.
    pub init: InitParams,
    /// `[integrator]`.
    pub integrator: IntegratorParams,
    /// `[stop]`.
    pub stop: StopParams,
    /// `[measure]`.
    pub measure: MeasureParams,
}

fn refuse(key: &'static str, reason: impl Into<String>) -> SolverError {
    SolverError::InvalidParameter {
        key,
        reason: reason.into(),
    }
}

fn check_finite(key: &'static str, value: f64) -> Result<(), SolverError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(refuse(key, format!("must be finite, got {value}")))
    }
}

impl Params {
    /// Checks the invariants the numerics rely on.
    ///
    /// # Errors
    /// `SolverError::InvalidParameter` naming the first offending key.
    pub fn validate(&self) -> Result<(), SolverError> {
        let model = &self.model;
        if model.dim < 2 {
            return Err(refuse("model.dim", "must be at least 2"));
        }
        if model.particles < 1 {
            return Err(refuse("model.particles", "must be at least 1"));
        }
        if model.dim > MAX_COORDINATES / 2 {
            return Err(refuse(
                "model.dim",
                format!("must be at most {}, got {}", MAX_COORDINATES / 2, model.dim),
            ));
        }
        if model.particles > MAX_COORDINATES / model.dim {
            return Err(refuse(
                "model.particles",
                format!(
                    "{} particles × {} dimensions exceed {MAX_COORDINATES} coordinates",
                    model.particles, model.dim
                ),
            ));
        }
        check_finite("model.beta", model.beta)?;
        if model.beta <= 0.0 {
            return Err(refuse("model.beta", "must be positive"));
        }
        if model.kernel == Kernel::Paper && model.beta > PAPER_KERNEL_BETA_MAX {
            return Err(refuse(
                "model.beta",
                format!(
                    "the paper kernel exp(β<x,y>) overflows for β = {} > {PAPER_KERNEL_BETA_MAX}; \
                     use model.kernel = \"shifted\" (the same dynamics on a rescaled time axis)",
                    // Exponent form past the usual range: 1e300, not three hundred digits.
                    if model.beta < 1e15 {
                        model.beta.to_string()
                    } else {
                        format!("{:e}", model.beta)
                    }
                ),
            ));
        }
        let perceptron = &self.perceptron;
        if perceptron.width < 1 {
            return Err(refuse("perceptron.width", "must be at least 1"));
        }
        if perceptron.width > MAX_COORDINATES / (model.dim + 1) {
            return Err(refuse(
                "perceptron.width",
                format!(
                    "{} neurons × {} weights exceed {MAX_COORDINATES} coordinates",
                    perceptron.width,
                    model.dim + 1
                ),
            ));
        }
        check_finite("perceptron.scale", perceptron.scale)?;
        if perceptron.scale < 0.0 {
            return Err(refuse("perceptron.scale", "must be non-negative"));
        }
        check_finite("perceptron.leaky_slope", perceptron.leaky_slope)?;
        let integrator = &self.integrator;
        check_finite("integrator.dt", integrator.dt)?;
        if integrator.dt <= 0.0 {
            return Err(refuse("integrator.dt", "must be positive"));
        }
        check_finite("integrator.tol", integrator.tol)?;
        if integrator.tol <= 0.0 {
            return Err(refuse("integrator.tol", "must be positive"));
        }
        if integrator.pair_kernel == PairKernel::Spectral && model.dim != 2 {
            return Err(refuse(
                "integrator.pair_kernel",
                format!(
                    "the spectral kernel works on the circle only (model.dim = 2), got \
                     model.dim = {}",
                    model.dim
                ),
            ));
        }
        let stop = &self.stop;
        if stop.max_steps < 1 {
            return Err(refuse("stop.max_steps", "must be at least 1"));
        }
        if let Some(t_max) = stop.t_max {
            check_finite("stop.t_max", t_max)?;
            if t_max <= 0.0 {
                return Err(refuse("stop.t_max", "must be positive"));
            }
        }
        check_finite("stop.drift_tol", stop.drift_tol)?;
        if stop.drift_tol < 0.0 {
            return Err(refuse("stop.drift_tol", "must be non-negative"));
        }
        if stop.check_every < 1 {
            return Err(refuse("stop.check_every", "must be at least 1"));
        }
        if stop.window < 1 {
            return Err(refuse("stop.window", "must be at least 1"));
        }
        check_finite("stop.spread_tol", stop.spread_tol)?;
        if !(0.0..1.0).contains(&stop.spread_tol) {
            return Err(refuse("stop.spread_tol", "must be in [0, 1)"));
        }
        if let Some(tol) = stop.certify_merge {
            check_finite("stop.certify_merge", tol)?;
            if !(0.0..std::f64::consts::PI).contains(&tol) {
                return Err(refuse("stop.certify_merge", "must be in [0, π)"));
            }
        }
        let measure = &self.measure;
        check_finite("measure.cluster_scale", measure.cluster_scale)?;
        if measure.cluster_scale <= 0.0 {
            return Err(refuse("measure.cluster_scale", "must be positive"));
        }
        if !(measure.heavy_mass > 0.0 && measure.heavy_mass <= 1.0) {
            return Err(refuse("measure.heavy_mass", "must be in (0, 1]"));
        }
        check_finite("measure.merge_tol", measure.merge_tol)?;
        if measure.merge_tol < 0.0 {
            return Err(refuse("measure.merge_tol", "must be non-negative"));
        }
        if !(2..=MAX_FRAMES).contains(&measure.frames) {
            return Err(refuse(
                "measure.frames",
                format!("must be in 2..={MAX_FRAMES}, got {}", measure.frames),
            ));
        }
        Ok(())
    }

    /// The cluster radius used for counting: `c / sqrt(β)`, capped at `π / (2d)` when
    /// `measure.cluster_cap` is set (the authors' convention).
    pub fn cluster_radius(&self) -> f64 {
        let radius = self.window_length();
        if self.measure.cluster_cap {
            radius.min(std::f64::consts::PI / (2.0 * self.model.dim as f64))
        } else {
            radius
        }
    }

    /// The window length of the anti-concentration bound, `c / sqrt(β)`, never capped: the
    /// theorem constrains the mass of sets of pairwise distance at most `1 / (2 sqrt β)`.
    pub fn window_length(&self) -> f64 {
        self.measure.cluster_scale / self.model.beta.sqrt()
    }
}

//! The sphereflow solver: particles on the unit sphere moved by attention and a perceptron
//! (MODEL.md), with integrators, clusters, energy and the authors' stopping rule.
//!
//! The solver does no IO and knows nothing about files, sweeps, caching or tables: it takes typed
//! [`Params`] (and optionally supplied positions and weights) and returns a [`RunResult`].
//!
//! ```
//! use sphereflow_solver::{simulate, Par, Problem};
//! let mut params = sphereflow_solver::testing::default_params();
//! params.model.particles = 20;
//! params.stop.max_steps = 50;
//! let problem = Problem::new(params, None, None).unwrap();
//! let result = simulate(&problem, Par::Seq).unwrap();
//! assert_eq!(result.summary.steps, 50);
//! ```

pub mod cells;
pub mod clusters;
pub mod error;
pub mod field;
pub mod integrate;
pub mod kernel;
pub mod par;
pub mod params;
pub mod perceptron;
pub mod quadrature;
pub mod reference;
pub mod run;
pub mod sphere;
pub mod state;
pub mod stationary;
pub mod testing;

pub use clusters::{Cluster, Observables};
pub use error::SolverError;
pub use field::{pair_pass_cost, Dynamics};
pub use par::Par;
pub use params::{
    Activation, Attention, InitParams, IntegratorParams, Kernel, MeasureParams, Method,
    ModelParams, PairKernel, Params, PerceptronParams, Regime, Retraction, ScaleMode, StopParams,
};
pub use perceptron::Perceptron;
pub use run::{
    certify_options, coarsening, end_state_options, simulate, simulate_certified, spreads,
    Conclusion, Frame, Frames, Problem, RunResult, SeriesRow, Simulation, StopReason, Summary,
    COARSEN_MAX, MAX_CERTIFIED_ATOMS, SETTLED_SPREAD,
};
pub use state::State;
pub use stationary::{certify, Certificate, CertifyOptions, Classification, Escape, EscapeFrom};

/// The solver's numerical revision, recorded with every result. Bump it whenever a change can
/// alter any result's bits: results of another revision are stale. Revision 3: the direct
/// kernel's exponential in base 2, and unit masses scaled once when all masses are equal.
/// Revision 4: snapshots (`Frames`) add an early tier of checks 0, 1, 2, 3, 4, 6, 9, ... to the
/// evenly spaced ones. Revision 5: `stop.spread_tol` stops null descent runs in a spread state
/// whose drift and energy stopped changing (`stationary_spread`) instead of running to the cap.
/// Revision 6: an escape from a saddle whose flow falls short of its target steps farther the
/// next time (certificates of `stop.certify` tasks). Revision 7: Newton's step for USA from the
/// Jacobian's eigendecomposition instead of its SVD, and Newton's method may take over an
/// escape's descent (certificates of `stop.certify` tasks). Revision 8: certificates measure
/// residuals against the attention an atom feels (its own weight left out of the field scale),
/// compare energies without the atoms' self terms, take the symmetry modes out of the Hessian
/// exactly, decide the precision guard on the polished atoms, and a settled run whose
/// certificate's residual is above tolerance goes on with the flow. Revision 9: `stop.certify`
/// coarsens an end state of more than `MAX_CERTIFIED_ATOMS` atoms into groups of bounded
/// diameter (`coarsening`) and certifies it, where it used to leave it uncertified. Revision 10:
/// a certificate whose Newton polish stalls above the tolerance (USA, with escapes) descends by
/// trust-region Newton from the atoms the polish started from and certifies again, and records
/// its Hausdorff distance from the state given (`distance_given`). Revision 11: the descent and
/// the certification flow accept a step on the energy's change summed term by term
/// (`stationary::energy_change`, its error a few ulps of its terms) instead of the difference of two
/// rounded energies, so a descent goes on where its decreases fall below the energy's rounding.
/// Revision 12: Newton's polish merges atoms that come within the merge distance after each
/// accepted step instead of at the end of a polish (its iteration budget counted from the last
/// merge), so the path from a coarsened state, and at times the minimum reached, changes.
pub const SOLVER_REV: u32 = 12;

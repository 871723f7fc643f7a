//! Certified stationary states (MODEL.md §9): merge a state into atoms, polish the atoms onto a
//! stationary point by Newton's method, classify it by the spectrum of the Riemannian Hessian of
//! the energy, and, from a saddle, escape along negative curvature to a local optimum.
//!
//! [`certify`] is the entry point; it returns a [`Certificate`] (serializable, to be stored with
//! a task's result).
//!
//! # Conventions
//!
//! - **Objective.** Descent decreases `E`, ascent increases it. The certificate's spectrum is the
//!   one of the objective the regime optimizes, `E` in descent and `−E` in ascent, so that a
//!   nonnegative spectrum is SOPD in both regimes (for ascent, `−H ⪰ 0`).
//! - **Mass weighting.** Eigenvalues are those of `M^{-1/2} (±H) M^{-1/2}` (`+` in descent,
//!   `−` in ascent), `M` the atoms' masses on the diagonal (`H ⪰ κ M` is strictness): they are
//!   the decay rates of the linearized flow `ξ̇_a = ∓(1/m_a) (H ξ)_a` (`−` in descent).
//! - **Field scale.** Residuals are `max_a |F_a|`, measured against the field scale
//!   `max_a (Σ_{b≠a} m_b w_ab + Σ_j |s_j σ(<a_j,x_a>)|)` (attention weights divided by `Z_a` for
//!   SA): the sum of the magnitudes of the terms of `F_a`, the size of its rounding error in
//!   units of `ε`. An atom's own term is tangentially zero and not computed, so it is not in the
//!   scale (with the `paper` kernel it would be `m_a e^β`, and atoms apart feel far less).
//!   Newton stops at `max_a |F_a| <= residual_tol · scale` (default `1e-12`).
//! - **Energies compared.** The escape compares energies through differences of `Ẽ`, the energy
//!   without the atoms' self terms (`w(1) Σ_a m_a² / (2β)`, constant while no atoms merge and
//!   `e^β` times larger with the `paper` kernel than what atoms apart add).
//! - **Threshold.** `τ = 1e-8 ‖H_w‖` (`H_w` the mass-weighted objective Hessian, spectral norm):
//!   eigenvalues in `[−τ, τ]` count as zero.
//! - **Symmetry modes.** The energy is invariant under the rotations that fix every direction
//!   `a_j` of a neuron with `s_j ≠ 0` (all of `SO(d)` without a perceptron). Their infinitesimal
//!   fields `x_a ↦ Ω x_a` span the symmetry directions (fewer than `dim so(d)` when the atoms are
//!   degenerate, e.g. all on one axis). `zero_modes` is the span's dimension, and
//!   the classification uses the Hessian restricted to the span's orthogonal complement (exactly,
//!   not by a threshold): strict means positive definite there, and the symmetry modes never
//!   make a saddle.
//! - **Classification.** In order: `unresolved` (the precision guard below), `undefined` (SA: not
//!   a gradient flow, only stationarity is checked), `not_stationary` (Newton did not reach the
//!   tolerance), `kink` (an atom within `1e-12` of a line `<a_j, x> = 0` of a `relu` or
//!   `leaky_relu` neuron, where the Hessian jumps), then by the smallest eigenvalue `λ` off the
//!   symmetry modes: `saddle` (`λ < −τ`), `sopd` (`|λ| <= τ`), `strict` (`λ > τ`, or no
//!   direction left off the symmetry modes).
//! - **Precision guard.** The perceptron enters the field with magnitude at most
//!   `Σ_j |s_j| max|σ|`, attention with what an atom feels, `Σ_{b≠a} m_b w_ab`. For the `paper`
//!   kernel and atoms close together the ratio is `~e^{-β}`; when `Σ_j |s_j|` is below
//!   `PRECISION_GUARD · ε` times the largest attention felt (about β > 29 with unit weights and
//!   close atoms), the perceptron's contribution to the field and the Hessian is lost in the
//!   rounding of attention, and the certificate reports `unresolved` with
//!   `perceptron_unresolved = true` instead of a classification it cannot make. It is decided
//!   on the polished atoms of each certification round.
//! - **Escape.** From a saddle (if `escape`), step so that the atom that moves most moves by
//!   `escape_step` along the eigenvector of the most negative eigenvalue, with the sign that
//!   lowers the objective more, then run the projected gradient flow of the objective
//!   (atoms within `merge_tol` merge) until its field is below `flow_tol` of the scale and the
//!   objective is below the saddle's by a hundred times what the step gained (so a weak negative
//!   curvature is left behind, not polished back onto), and certify again; at most
//!   `max_escapes` times. A flow that ends short of that target has not resolved its descent:
//!   under a weak negative curvature (λ of order 1e-5 against a Hessian norm of order 1) the
//!   energy a small step gains, and its decrease per flow step, fall below the energy's
//!   rounding. The next escape then steps `ESCAPE_GROWTH` times farther, up to
//!   `MAX_ESCAPE_STEP`. Every thousand flow steps, Newton's method may take over the rest of the
//!   descent: when the objective Hessian is positive definite off the symmetry modes there and a
//!   trial polish converges to a state below the saddle that is not a saddle (below the saddle,
//!   not necessarily below the target: a minimum may lie above it when the step gained little).
//!   The last stretch of a flow into a minimum of weak curvature is slow (of the order of
//!   `‖H_w‖/λ` steps per factor `e`), Newton's is a few iterations.
//! - **Escape from a stalled polish.** Where the Hessian has directions of weak or negative
//!   curvature (eigenvalues of order `τ` to `1e-5 ‖H_w‖`), Newton's quadratic model of the field
//!   holds only very near a critical point, and the polish can stall above the tolerance at a
//!   local minimum of `|F|` that is no critical point: the state is still creeping along those
//!   directions (a flow stopped on its drift rule at `1e-4` can be 1e7 time units from
//!   settling). With escapes on (USA, `descend`), the certifier then descends instead: trust-region
//!   Newton on the objective itself (`newton::descend`: steps minimizing its quadratic model
//!   `r·p + ½ pᵀJp` within the region, along negative curvature where there is some, kept when
//!   the objective falls: judged on its change summed term by term, since near the end the
//!   decreases are below the rounding of the objective itself), from the atoms the stalled
//!   polish started from (the polish moved them towards the stall, not downhill), atoms within
//!   `merge_tol` merging. Newton's root finding takes over under the handover rule above
//!   (`newton_handover`), offered after a kept step from a point where the model is convex and its Newton step fits in the region; then
//!   the state is certified again, and descends again if it stalls again, within `max_escapes`
//!   (a polish can stall just above the tolerance at a nearly degenerate minimum). After a
//!   descent that lowered nothing, or with more than `MAX_DESCENT_ATOMS` atoms (a dense
//!   eigendecomposition per iteration), a stalled polish is reported `not_stationary`. The
//!   escape is recorded `from: stalled`, and the certified state may lie far from the given one:
//!   `distance_given` (the Hausdorff distance, geodesic, between the given particles and the
//!   atoms) says how far. `stop.certify` does not descend from a settled state (the run flows
//!   on, so its end state is its flow's), only at the run's final stop.

mod calculus;
mod linalg;
mod newton;
mod spectrum;
mod subproblem;

use serde::{Deserialize, Serialize};

use crate::clusters::{merge_close, merge_within};
use crate::error::SolverError;
use crate::field::Dynamics;
use crate::params::{Activation, Attention};
use crate::state::State;
use crate::Par;

pub use calculus::{
    coordinates, energy, energy_change, field, field_scale, gradient, hessian, sigma_prime,
    tangent_basis, unit_defect,
};

use spectrum::{spectrum, Spectrum};

pub use linalg::SPECTRAL_THRESHOLD;
/// Factor by which the step off a saddle grows after an escape whose flow fell short.
const ESCAPE_GROWTH: f64 = 4.0;
/// Largest step off a saddle (radians, for the atom that moves most) that growth reaches.
const MAX_ESCAPE_STEP: f64 = 0.5;
/// A stalled polish of more atoms than this is not descended from: each descent iteration
/// decomposes the dense Hessian.
pub const MAX_DESCENT_ATOMS: usize = 300;
/// Distance to a ReLU line `<a_j, x> = 0` below which an atom is on a kink.
pub const KINK_TOL: f64 = 1e-12;
/// How far from 1 the norm of a row to certify may be.
pub const UNIT_TOL: f64 = 1e-9;
/// The perceptron is unresolved when its scale is below this many `ε` of attention's.
pub const PRECISION_GUARD: f64 = 1e3;

/// What [`certify`] does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifyOptions {
    /// Particles within this geodesic distance merge into one atom (single linkage), before
    /// polishing and whenever atoms come together.
    pub merge_tol: f64,
    /// Newton stops at `max_a |F_a| <= residual_tol · scale`.
    pub residual_tol: f64,
    /// Newton iterations a polish may take without merging atoms: the count starts again at each
    /// merge (at most one per atom), as each polish round after a merge used to start afresh.
    pub max_newton_iterations: usize,
    /// Whether to escape from saddles.
    pub escape: bool,
    /// Escapes allowed.
    pub max_escapes: usize,
    /// Largest move of an atom in the step off a saddle (radians).
    pub escape_step: f64,
    /// The flow after an escape stops at `max_a |F_a| <= flow_tol · scale` (Newton takes over).
    pub flow_tol: f64,
    /// Flow steps allowed after each escape.
    pub max_flow_steps: usize,
    /// Whether Newton's method may take over an escape's descent (module doc, Escape): the flow
    /// from a saddle or the descent from a stalled polish. Off, they run to their own stops.
    pub newton_handover: bool,
    /// After merging at `merge_tol`, merge the atoms further into groups of at most this
    /// geodesic diameter (no chaining: [`merge_within`]), for states of too many atoms to
    /// polish one by one. Recorded in the certificate as `coarsened`.
    #[serde(default)]
    pub coarsen: Option<f64>,
    /// Whether a polish that stalls above the tolerance descends (with `escape`; module doc,
    /// Escape). `stop.certify` turns it off for a run that settled, which goes on with the flow
    /// instead, so that a run's end state is its flow's.
    #[serde(default = "default_descend")]
    pub descend: bool,
    /// Trust-region descent iterations allowed after each stalled polish.
    #[serde(default = "default_descent_iterations")]
    pub max_descent_iterations: usize,
}

fn default_descend() -> bool {
    CertifyOptions::default().descend
}

fn default_descent_iterations() -> usize {
    CertifyOptions::default().max_descent_iterations
}

impl Default for CertifyOptions {
    fn default() -> Self {
        CertifyOptions {
            merge_tol: 1e-6,
            residual_tol: 1e-12,
            max_newton_iterations: 100,
            escape: false,
            max_escapes: 10,
            escape_step: 1e-2,
            flow_tol: 1e-6,
            max_flow_steps: 200_000,
            newton_handover: true,
            coarsen: None,
            descend: true,
            max_descent_iterations: 2_000,
        }
    }
}

/// What a certificate concludes (see the module doc for the order of the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Stationary, and the objective Hessian is positive definite off the symmetry modes.
    Strict,
    /// Stationary, objective Hessian positive semidefinite (zero eigenvalues off the symmetry
    /// modes, within `τ`).
    Sopd,
    /// Stationary with a negative eigenvalue (below `−τ`) off the symmetry modes.
    Saddle,
    /// An atom sits on a ReLU kink: the Hessian is not defined there.
    Kink,
    /// SA: not a gradient flow; only stationarity was checked.
    Undefined,
    /// The perceptron is below the rounding of attention: nothing can be said about it.
    Unresolved,
    /// Newton did not reach the residual tolerance.
    NotStationary,
}

impl Classification {
    /// The name used in certificates, tables and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Strict => "strict",
            Classification::Sopd => "sopd",
            Classification::Saddle => "saddle",
            Classification::Kink => "kink",
            Classification::Undefined => "undefined",
            Classification::Unresolved => "unresolved",
            Classification::NotStationary => "not_stationary",
        }
    }

    /// Strict or SOPD: a local minimum (descent) / maximum (ascent) to second order.
    pub fn is_sopd(self) -> bool {
        matches!(self, Classification::Strict | Classification::Sopd)
    }
}

/// One atom of a certified state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Atom {
    /// Unit position.
    pub position: Vec<f64>,
    /// Mass.
    pub mass: f64,
}

/// An atom on a ReLU kink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kink {
    /// The atom.
    pub atom: usize,
    /// The neuron whose line it is on.
    pub neuron: usize,
    /// `|<a_j, x_a>|`.
    pub distance: f64,
}

/// Where an escape starts (module doc, Escape).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscapeFrom {
    /// A saddle: a step along its most negative eigenvector, then the flow.
    #[default]
    Saddle,
    /// A polish that stalled above the tolerance: trust-region descent from the atoms it
    /// started from.
    Stalled,
}

impl EscapeFrom {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            EscapeFrom::Saddle => "saddle",
            EscapeFrom::Stalled => "stalled",
        }
    }
}

/// One escape from a saddle or from a stalled polish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escape {
    /// Where it started (`saddle` in certificates stored before stalled polishes escaped).
    #[serde(default)]
    pub from: EscapeFrom,
    /// From a saddle, the negative eigenvalue stepped along; from a stalled polish, the smallest
    /// eigenvalue off the symmetry modes where it stalled (0 when no direction is left).
    pub eigenvalue: f64,
    /// Energy at the saddle, or of the atoms the stalled polish started from.
    pub energy_before: f64,
    /// Energy after the flow or the descent (before the next polish).
    pub energy_after: f64,
    /// Atoms at the saddle, or that the stalled polish started from.
    pub atoms_before: usize,
    /// Atoms after the flow or the descent.
    pub atoms_after: usize,
    /// Flow steps taken (0 from a stalled polish).
    pub flow_steps: usize,
    /// Trust-region descent iterations taken (0 from a saddle).
    #[serde(default)]
    pub descent_iterations: usize,
    /// Newton iterations of the polish that found the saddle or stalled.
    pub newton_iterations: usize,
}

/// The certificate of a state (MODEL.md §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// The conclusion.
    pub classification: Classification,
    /// `max_a |F_a|` at the certified atoms.
    pub residual: f64,
    /// The field scale the residual is measured against (module doc).
    pub field_scale: f64,
    /// Eigenvalues of the mass-weighted objective Hessian (`E` descent, `−E` ascent), ascending;
    /// empty for SA.
    pub eigenvalues: Vec<f64>,
    /// Smallest eigenvalue off the symmetry modes; `None` for SA or when no direction is left.
    pub lambda_min: Option<f64>,
    /// `‖H_w‖`, the largest |eigenvalue|.
    pub hessian_norm: f64,
    /// The threshold `τ`.
    pub threshold: f64,
    /// Symmetry (rotation) zero modes found in the spectrum.
    pub zero_modes: usize,
    /// The atoms.
    pub atoms: Vec<Atom>,
    /// Energy `E` of the atoms.
    pub energy: f64,
    /// Energy `E` of the state as given, before merging: far from the polished atoms' when the
    /// merge or the polish moved the state (`None` in certificates stored before it was kept).
    #[serde(default)]
    pub energy_given: Option<f64>,
    /// Newton iterations of the final polish, summed over its rounds (merges take none).
    pub newton_iterations: usize,
    /// `max_a |F_a|` at the start of the final polish and after each accepted Newton step (of
    /// the merged atoms after a step that merged some).
    pub residual_history: Vec<f64>,
    /// Escapes from saddles, in order.
    pub escapes: Vec<Escape>,
    /// The precision guard: the perceptron is below the rounding of attention.
    pub perceptron_unresolved: bool,
    /// An atom on a ReLU kink, if any.
    pub kink: Option<Kink>,
    /// The diameter of the groups the state was merged into before polishing
    /// ([`CertifyOptions::coarsen`]), if it was: the atoms are then a stationary point found from
    /// a state moved by up to that distance, and `energy_given` is the state's before it.
    #[serde(default)]
    pub coarsened: Option<f64>,
    /// How far the certified atoms are from the state as given: the Hausdorff distance
    /// (geodesic, radians) between its particles and the atoms, the farthest any of either lies
    /// from the nearest of the other (`None` in certificates stored before it was kept).
    #[serde(default)]
    pub distance_given: Option<f64>,
}

impl Certificate {
    /// The certified atoms as a state.
    pub fn state(&self) -> State {
        let dim = self.atoms.first().map_or(0, |a| a.position.len());
        State {
            dim,
            positions: self.atoms.iter().flat_map(|a| a.position.clone()).collect(),
            masses: self.atoms.iter().map(|a| a.mass).collect(),
        }
    }
}

/// Certifies `state` under `dynamics`: merge, polish, classify, escape (module doc).
///
/// `par` is accepted for symmetry with the other kernels; the atoms are few and the work runs on
/// the calling thread, so the certificate does not depend on it.
///
/// # Errors
/// `InvalidInput` when the state does not fit the dynamics; `InvalidParameter` for options out
/// of range; `CertifyFailed` when the field turns non-finite or a decomposition fails.
pub fn certify(
    dynamics: &Dynamics,
    state: &State,
    options: &CertifyOptions,
    par: Par,
) -> Result<Certificate, SolverError> {
    let _ = par;
    validate(dynamics, state, options)?;
    let energy_given = energy(dynamics, state);
    let mut atoms = state.clone();
    merge_close(&mut atoms, options.merge_tol);
    if let Some(diameter) = options.coarsen {
        atoms = merge_within(&atoms, diameter, usize::MAX).expect("no limit on the atoms");
    }
    let mut escapes = Vec::new();
    let mut escape_step = options.escape_step;
    // A descent that lowered nothing is not tried again.
    let mut descent_stuck = false;
    loop {
        let unpolished = atoms.clone();
        let polish = polish_and_merge(dynamics, &mut atoms, options)?;
        let guard = perceptron_unresolved(dynamics, &atoms);
        let kink = find_kink(dynamics, &atoms);
        let spectrum = match dynamics.attention {
            Attention::Usa => Some(spectrum(dynamics, &atoms)?),
            Attention::Sa => None,
        };
        let classification = classify(
            dynamics,
            guard,
            polish.converged,
            kink.is_some(),
            spectrum.as_ref(),
        );
        if classification == Classification::NotStationary
            && dynamics.attention == Attention::Usa
            && options.escape
            && options.descend
            && !descent_stuck
            && atoms.len() <= MAX_DESCENT_ATOMS
            && escapes.len() < options.max_escapes
        {
            // Newton stalled above the tolerance: where the Hessian has directions of weak or
            // negative curvature its quadratic model holds only very near a critical point, if
            // one is near at all. Descend from the atoms it started from (module doc, Escape).
            let eigenvalue = spectrum.as_ref().and_then(|s| s.lambda_min).unwrap_or(0.0);
            atoms = unpolished;
            let energy_before = energy(dynamics, &atoms);
            let atoms_before = atoms.len();
            let start = newton::objective(dynamics, &atoms);
            let before = atoms.clone();
            let mut handover = |descending: &State| handover(dynamics, descending, options, &start);
            let descent_iterations = newton::descend(
                dynamics,
                &mut atoms,
                options.merge_tol,
                options.max_descent_iterations,
                &mut handover,
            )?;
            descent_stuck = newton::objective_change(dynamics, &before, &atoms) >= 0.0;
            escapes.push(Escape {
                from: EscapeFrom::Stalled,
                eigenvalue,
                energy_before,
                energy_after: energy(dynamics, &atoms),
                atoms_before,
                atoms_after: atoms.len(),
                flow_steps: 0,
                descent_iterations,
                newton_iterations: polish.iterations,
            });
            continue;
        }
        if classification == Classification::Saddle
            && options.escape
            && escapes.len() < options.max_escapes
        {
            let (eigenvalue, direction) = spectrum
                .as_ref()
                .and_then(|s| s.most_negative.clone())
                .expect("a saddle has a negative eigenvalue");
            let energy_before = energy(dynamics, &atoms);
            let atoms_before = atoms.len();
            let at_saddle = newton::objective(dynamics, &atoms);
            step_off_saddle(dynamics, &mut atoms, &direction, escape_step);
            // Flow on until the objective is below the saddle's by a hundred times what the
            // step off it gained (ten times the distance along the unstable direction).
            let gained = at_saddle
                .minus(&newton::objective(dynamics, &atoms))
                .max(0.0);
            let target = (at_saddle, -100.0 * gained);
            // Newton may finish the descent once the flow is where it polishes onto a minimum
            // below the saddle: the Hessian positive definite off the symmetry modes there, and
            // the polished state not a saddle and lower than the one left. (The target is for the
            // flow's own stop: a minimum may lie above it when the step gained little.)
            let mut handover = |flowing: &State| handover(dynamics, flowing, options, &at_saddle);
            let flow_steps = newton::flow(
                dynamics,
                &mut atoms,
                options.merge_tol,
                options.flow_tol,
                target,
                options.max_flow_steps,
                &mut handover,
            )?;
            if newton::objective(dynamics, &atoms).minus(&target.0) > target.1 {
                // Short of the target: the descent was not resolved (module doc).
                escape_step =
                    (escape_step * ESCAPE_GROWTH).min(MAX_ESCAPE_STEP.max(options.escape_step));
            }
            escapes.push(Escape {
                from: EscapeFrom::Saddle,
                eigenvalue,
                energy_before,
                energy_after: energy(dynamics, &atoms),
                atoms_before,
                atoms_after: atoms.len(),
                flow_steps,
                descent_iterations: 0,
                newton_iterations: polish.iterations,
            });
            continue;
        }
        let spectrum = spectrum.unwrap_or(Spectrum {
            eigenvalues: Vec::new(),
            lambda_min: None,
            hessian_norm: 0.0,
            threshold: 0.0,
            zero_modes: 0,
            most_negative: None,
        });
        return Ok(Certificate {
            classification,
            residual: polish.residual,
            field_scale: polish.scale,
            eigenvalues: spectrum.eigenvalues,
            lambda_min: spectrum.lambda_min,
            hessian_norm: spectrum.hessian_norm,
            threshold: spectrum.threshold,
            zero_modes: spectrum.zero_modes,
            atoms: (0..atoms.len())
                .map(|a| Atom {
                    position: atoms.position(a).to_vec(),
                    mass: atoms.masses[a],
                })
                .collect(),
            energy: energy(dynamics, &atoms),
            energy_given: Some(energy_given),
            newton_iterations: polish.iterations,
            residual_history: polish.history,
            escapes,
            perceptron_unresolved: guard,
            kink,
            coarsened: options.coarsen,
            distance_given: Some(hausdorff(state, &atoms)),
        });
    }
}

/// Whether Newton's method may finish a descent from a saddle or a stalled polish at `here`:
/// `newton_handover` is on, the objective Hessian is positive definite off the symmetry modes
/// there, and a trial polish converges to a state below `start` that is not a saddle.
fn handover(
    dynamics: &Dynamics,
    here: &State,
    options: &CertifyOptions,
    start: &newton::Objective,
) -> Result<bool, SolverError> {
    if !options.newton_handover {
        return Ok(false);
    }
    let at = spectrum(dynamics, here)?;
    if at.lambda_min.is_some_and(|l| l <= at.threshold) {
        return Ok(false);
    }
    let mut trial = here.clone();
    let polish = polish_and_merge(dynamics, &mut trial, options)?;
    if !polish.converged || newton::objective(dynamics, &trial).minus(start) >= 0.0 {
        return Ok(false);
    }
    let there = spectrum(dynamics, &trial)?;
    Ok(there.lambda_min.is_none_or(|l| l >= -there.threshold))
}

/// The Hausdorff distance (geodesic) between the particles of `given` and `atoms`.
fn hausdorff(given: &State, atoms: &State) -> f64 {
    let nearest = |from: &State, to: &State| -> f64 {
        (0..from.len())
            .map(|i| {
                (0..to.len())
                    .map(|j| crate::sphere::geodesic_distance(from.position(i), to.position(j)))
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0, f64::max)
    };
    nearest(given, atoms).max(nearest(atoms, given))
}

fn validate(
    dynamics: &Dynamics,
    state: &State,
    options: &CertifyOptions,
) -> Result<(), SolverError> {
    if state.dim != dynamics.dim || dynamics.dim < 2 || state.is_empty() {
        return Err(SolverError::InvalidInput {
            what: "state to certify",
            reason: format!(
                "{} particles of dimension {}, dynamics of dimension {}",
                state.len(),
                state.dim,
                dynamics.dim
            ),
        });
    }
    if state.positions.len() != state.len() * state.dim
        || state.positions.iter().any(|v| !v.is_finite())
        || state.masses.iter().any(|m| !(m.is_finite() && *m > 0.0))
    {
        return Err(SolverError::InvalidInput {
            what: "state to certify",
            reason: "positions must be finite and masses positive".into(),
        });
    }
    // The calculus holds on the product of unit spheres: a row off it is refused, not projected
    // (how far off is the caller's to judge), beyond the rounding of a normalized row.
    if let Some((a, length)) = state
        .positions
        .chunks_exact(state.dim)
        .map(crate::sphere::norm)
        .enumerate()
        .find(|(_, length)| (length - 1.0).abs() > UNIT_TOL)
    {
        return Err(SolverError::InvalidInput {
            what: "state to certify",
            reason: format!(
                "row {a}: the position has norm {length}, not 1 to within {UNIT_TOL:e} (rows must \
                 be unit vectors)"
            ),
        });
    }
    let checks: [(&'static str, bool); 5] = [
        ("certify.merge_tol", options.merge_tol >= 0.0),
        (
            "certify.coarsen",
            options
                .coarsen
                .is_none_or(|h| h > 0.0 && h < std::f64::consts::PI),
        ),
        (
            "certify.residual_tol",
            options.residual_tol > 0.0 && options.residual_tol < 1.0,
        ),
        (
            "certify.escape_step",
            options.escape_step > 0.0 && options.escape_step < 1.0,
        ),
        (
            "certify.flow_tol",
            options.flow_tol > 0.0 && options.flow_tol < 1.0,
        ),
    ];
    for (key, ok) in checks {
        if !ok {
            return Err(SolverError::InvalidParameter {
                key,
                reason: "out of range".into(),
            });
        }
    }
    Ok(())
}

/// Polishes (atoms that come within `merge_tol` merge as the polish goes), then merges what is
/// still within `merge_tol` (atoms a polish that took no step started with, or merged centres
/// that landed that close) and polishes again until nothing merges; the iterations add up and
/// the residual histories are concatenated.
fn polish_and_merge(
    dynamics: &Dynamics,
    atoms: &mut State,
    options: &CertifyOptions,
) -> Result<newton::Polish, SolverError> {
    let mut total: Option<newton::Polish> = None;
    loop {
        let polish = newton::polish(
            dynamics,
            atoms,
            options.residual_tol,
            options.merge_tol,
            options.max_newton_iterations,
        )?;
        let polish = match total.take() {
            None => polish,
            Some(mut earlier) => {
                earlier.iterations += polish.iterations;
                earlier.history.extend(polish.history);
                newton::Polish {
                    iterations: earlier.iterations,
                    history: earlier.history,
                    ..polish
                }
            }
        };
        if !merge_close(atoms, options.merge_tol) {
            return Ok(polish);
        }
        total = Some(polish);
    }
}

/// The precision guard (module doc).
fn perceptron_unresolved(dynamics: &Dynamics, atoms: &State) -> bool {
    let perceptron = &dynamics.perceptron;
    if perceptron.is_off() {
        return false;
    }
    let perceptron_scale: f64 = perceptron.weights.iter().map(|s| s.abs()).sum();
    let attention_scale = calculus::field_parts(dynamics, atoms).attention_scale;
    perceptron_scale < PRECISION_GUARD * f64::EPSILON * attention_scale
}

/// The first atom within `KINK_TOL` of a ReLU / leaky ReLU line.
fn find_kink(dynamics: &Dynamics, atoms: &State) -> Option<Kink> {
    let perceptron = &dynamics.perceptron;
    if !matches!(
        perceptron.sigma.activation,
        Activation::Relu | Activation::LeakyRelu
    ) {
        return None;
    }
    for a in 0..atoms.len() {
        for j in 0..perceptron.width() {
            if perceptron.weights[j] == 0.0 {
                continue;
            }
            let distance = crate::sphere::dot(perceptron.direction(j), atoms.position(a)).abs();
            if distance <= KINK_TOL {
                return Some(Kink {
                    atom: a,
                    neuron: j,
                    distance,
                });
            }
        }
    }
    None
}

fn classify(
    dynamics: &Dynamics,
    unresolved: bool,
    converged: bool,
    on_kink: bool,
    spectrum: Option<&Spectrum>,
) -> Classification {
    if unresolved {
        return Classification::Unresolved;
    }
    if dynamics.attention == Attention::Sa {
        return if converged {
            Classification::Undefined
        } else {
            Classification::NotStationary
        };
    }
    if !converged {
        return Classification::NotStationary;
    }
    if on_kink {
        return Classification::Kink;
    }
    let spectrum = spectrum.expect("USA has a spectrum");
    match spectrum.lambda_min {
        None => Classification::Strict,
        Some(l) if l < -spectrum.threshold => Classification::Saddle,
        Some(l) if l > spectrum.threshold => Classification::Strict,
        Some(_) => Classification::Sopd,
    }
}

/// Moves the atoms along `direction` (solve coordinates), scaled so that the atom that moves most
/// moves by `step`, with the sign that lowers the objective more.
fn step_off_saddle(dynamics: &Dynamics, atoms: &mut State, direction: &[f64], step: f64) {
    let tangent = atoms.dim - 1;
    let largest = (0..atoms.len())
        .map(|a| {
            crate::sphere::norm(&direction[a * tangent..(a + 1) * tangent]) / atoms.masses[a].sqrt()
        })
        .fold(0.0, f64::max);
    let scale = step / largest;
    let candidates: Vec<State> = [1.0, -1.0]
        .iter()
        .map(|sign| {
            let p: Vec<f64> = direction.iter().map(|v| sign * scale * v).collect();
            newton::retract(dynamics, atoms, &p)
        })
        .collect();
    let objectives: Vec<newton::Objective> = candidates
        .iter()
        .map(|s| newton::objective(dynamics, s))
        .collect();
    let best = if objectives[0].minus(&objectives[1]) <= 0.0 {
        0
    } else {
        1
    };
    *atoms = candidates[best].clone();
}

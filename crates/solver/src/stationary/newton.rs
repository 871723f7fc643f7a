//! Polishing atoms onto a stationary point, and the descent flow used to leave a saddle.
//!
//! **Newton.** The unknowns are tangent coordinates `ξ_a` at each atom (the chart
//! `x_a ← (x_a + U_aᵀ ξ_a) / |…|`, re-centred at every iteration). The residual is
//! - USA: `r_a = −s √m_a U_a F_a` (`s` the regime's sign), whose Jacobian is the mass-weighted
//!   Hessian of the objective, `J = −s M^{-1/2} H M^{-1/2}`, in the coordinates `y_a = √m_a ξ_a`
//!   (Riemannian Newton: exact at a stationary point, so convergence is quadratic);
//! - SA (no energy): `r_a = U_a F_a`, with the Jacobian of the chart map by central differences.
//!
//! Each step minimizes `|r + J p|` within a trust region `|p| <= Δ` (Levenberg–Marquardt form
//! through the singular triplets of `J`: `p(μ) = −Σ σ_i c_i / (σ_i² + μ) v_i`, `μ` found by
//! bisection so that `|p| = Δ`, the plain pseudo-inverse step when it fits). The symmetric USA
//! Jacobian gets its triplets from an eigendecomposition, SA's from an SVD. This is root finding
//! on the field, not minimization: it converges to the stationary point near the start whatever
//! its type, saddles included, which is what certifying a given state needs. Symmetry directions
//! make `J` singular; singular values below `PSEUDO_INVERSE_CUTOFF` of the largest are dropped,
//! so the step is the minimum-norm one and does not move along the orbit.
//!
//! Atoms that come within the merge tolerance merge after each accepted step, so a cluster's
//! atoms leave the problem as they meet.
//!
//! **Flow.** Projected gradient steps of the objective (`E` in descent, `−E` in ascent) along the
//! dynamics' own velocity `±F_a`, with a backtracking (Armijo) step size, merging atoms that come
//! within the merge tolerance. Used only after stepping off a saddle.
//!
//! **Descent.** Trust-region Newton on the objective (USA: `r` is its gradient and `J` its
//! Hessian in the solve coordinates): Moré–Sorensen steps through the eigendecomposition of `J`
//! (`subproblem::model_step`, tested against the conditions of a global minimizer over the ball).
//! Where `J` has no eigenvalue below `−τ`, the Newton step (pseudo-inverse, so not along the
//! symmetry orbit) when it fits in the region; otherwise the boundary step
//! `p(μ) = −Σ c_k / (λ_k + μ) v_k`, `μ > max(0, −λ_min)` with `|p(μ)| = Δ` (bisection), or, in the
//! hard case (the gradient nearly orthogonal to the lowest eigenvector), along that eigenvector to
//! the boundary. A step is kept when the objective falls by at least a tenth of the model's
//! prediction. Used after a polish stalls above the tolerance (`stationary` module doc).
//!
//! **Energy changes.** The flow and the descent judge a step by the objective's change summed
//! term by term ([`objective_change`], `calculus::energy_change`), with an error of a few ulps of
//! its terms rather than of the objective: near the end of a descent the decreases fall to
//! `1e-18` and below, under the rounding of the objective (`|Ẽ| ~ 1e-3`, rounded to a few
//! `1e-19`), where the difference of two rounded values would reject every step.

use crate::clusters::merge_close;
use crate::error::SolverError;
use crate::field::Dynamics;
use crate::params::Attention;
use crate::sphere::norm;
use crate::state::State;

use super::calculus::{
    ambient, coordinates, energy_change, energy_without_self, field_parts, hessian, tangent_basis,
};
use super::linalg::{svd, symmetric_eigen, PSEUDO_INVERSE_CUTOFF};
use super::subproblem::model_step;

/// Largest move of one atom in one Newton step (radians).
const MAX_ATOM_STEP: f64 = 0.5;
/// Central-difference step for the SA Jacobian (radians).
const JACOBIAN_STEP: f64 = 1e-6;
/// Accepted flow steps between offers to hand the rest of a descent to Newton's method.
pub(crate) const HANDOVER_EVERY: usize = 1000;
/// The first trust radius of [`descend`] (solve coordinates).
const DESCENT_RADIUS: f64 = 1e-2;

/// The history of one Newton polish.
#[derive(Debug, Clone)]
pub(crate) struct Polish {
    /// Newton iterations taken (accepted and rejected steps).
    pub iterations: usize,
    /// `max_a |F_a|` at the start and after each accepted step.
    pub history: Vec<f64>,
    /// Whether `max_a |F_a| <= tol · scale` was reached.
    pub converged: bool,
    /// `max_a |F_a|` at the end.
    pub residual: f64,
    /// The field scale at the end.
    pub scale: f64,
}

/// The residual vector in the solve coordinates, `max_a |F_a|`, and the field scale.
struct Residual {
    values: Vec<f64>,
    max_field: f64,
    scale: f64,
}

fn residual(dynamics: &Dynamics, state: &State) -> Result<Residual, SolverError> {
    let dim = state.dim;
    let parts = field_parts(dynamics, state);
    let mut values = Vec::with_capacity(state.len() * (dim - 1));
    let mut max_field = 0.0f64;
    for a in 0..state.len() {
        let f = &parts.field[a * dim..(a + 1) * dim];
        if f.iter().any(|v| !v.is_finite()) {
            return Err(SolverError::CertifyFailed {
                stage: "field",
                reason: format!("non-finite field at atom {a}"),
            });
        }
        max_field = max_field.max(norm(f));
        let basis = tangent_basis(state.position(a));
        let c = coordinates(&basis, dim, f);
        let factor = match dynamics.attention {
            Attention::Usa => -dynamics.sign() * state.masses[a].sqrt(),
            Attention::Sa => 1.0,
        };
        values.extend(c.iter().map(|v| factor * v));
    }
    Ok(Residual {
        values,
        max_field,
        scale: parts.scale,
    })
}

/// The factor turning solve coordinates of atom `a` into tangent coordinates `ξ_a`.
fn coordinate_factor(dynamics: &Dynamics, state: &State, a: usize) -> f64 {
    match dynamics.attention {
        Attention::Usa => 1.0 / state.masses[a].sqrt(),
        Attention::Sa => 1.0,
    }
}

/// Moves each atom by the tangent coordinates `ξ_a = factor_a p_a` and back onto the sphere.
pub(crate) fn retract(dynamics: &Dynamics, state: &State, step: &[f64]) -> State {
    let dim = state.dim;
    let tangent = dim - 1;
    let mut moved = state.clone();
    for a in 0..state.len() {
        let factor = coordinate_factor(dynamics, state, a);
        let xi: Vec<f64> = step[a * tangent..(a + 1) * tangent]
            .iter()
            .map(|v| factor * v)
            .collect();
        let basis = tangent_basis(state.position(a));
        let v = ambient(&basis, dim, &xi);
        let x = &mut moved.positions[a * dim..(a + 1) * dim];
        for (xk, vk) in x.iter_mut().zip(&v) {
            *xk += vk;
        }
        let length = norm(x);
        x.iter_mut().for_each(|xk| *xk /= length);
    }
    moved
}

/// The Newton Jacobian in the solve coordinates, row-major `N × N`.
pub(crate) fn jacobian(dynamics: &Dynamics, state: &State) -> Result<Vec<f64>, SolverError> {
    let size = state.len() * (state.dim - 1);
    match dynamics.attention {
        Attention::Usa => {
            let mut h = hessian(dynamics, state);
            let sign = -dynamics.sign();
            let tangent = state.dim - 1;
            let root: Vec<f64> = state.masses.iter().map(|m| m.sqrt()).collect();
            for i in 0..size {
                for j in 0..size {
                    h[i * size + j] *= sign / (root[i / tangent] * root[j / tangent]);
                }
            }
            Ok(h)
        }
        Attention::Sa => {
            // Column j: the central difference of the residual along coordinate j, with the
            // residual read in the bases at the unmoved atoms (a fixed chart).
            let dim = state.dim;
            let bases: Vec<Vec<f64>> = (0..state.len())
                .map(|a| tangent_basis(state.position(a)))
                .collect();
            let chart_residual = |moved: &State| -> Result<Vec<f64>, SolverError> {
                let parts = field_parts(dynamics, moved);
                let mut values = Vec::with_capacity(size);
                for a in 0..moved.len() {
                    values.extend(coordinates(
                        &bases[a],
                        dim,
                        &parts.field[a * dim..(a + 1) * dim],
                    ));
                }
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(SolverError::CertifyFailed {
                        stage: "field",
                        reason: "non-finite field in the Jacobian".into(),
                    });
                }
                Ok(values)
            };
            let mut jac = vec![0.0; size * size];
            let mut step = vec![0.0; size];
            for j in 0..size {
                step[j] = JACOBIAN_STEP;
                let plus = chart_residual(&retract(dynamics, state, &step))?;
                step[j] = -JACOBIAN_STEP;
                let minus = chart_residual(&retract(dynamics, state, &step))?;
                step[j] = 0.0;
                for i in 0..size {
                    jac[i * size + j] = (plus[i] - minus[i]) / (2.0 * JACOBIAN_STEP);
                }
            }
            Ok(jac)
        }
    }
}

/// `J` through its singular triplets: `J = Σ_k σ_k u_k v_kᵀ`, kept as the singular values, the
/// coefficients `c_k = u_kᵀ r` and the right vectors (column `k` of `v`, row-major `size × rank`).
struct Triplets {
    singular: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
    rank: usize,
}

/// The singular triplets of `jac`. A symmetric `J` (USA: a scaled Hessian) comes from its
/// eigendecomposition `J = Σ λ_k v_k v_kᵀ` (`σ_k = |λ_k|`, `u_k = sign(λ_k) v_k`), cheaper than
/// an SVD; any other through the SVD.
fn triplets(jac: &[f64], r: &[f64], size: usize, symmetric: bool) -> Result<Triplets, SolverError> {
    if symmetric {
        let eigen = symmetric_eigen(jac, size)?;
        let mut order: Vec<usize> = (0..size).collect();
        order.sort_by(|&a, &b| eigen.values[b].abs().total_cmp(&eigen.values[a].abs()));
        let mut v = vec![0.0; size * size];
        let mut singular = Vec::with_capacity(size);
        let mut c = Vec::with_capacity(size);
        for (k, &i) in order.iter().enumerate() {
            let lambda = eigen.values[i];
            let mut projection = 0.0;
            for row in 0..size {
                let component = eigen.vectors[row * size + i];
                v[row * size + k] = component;
                projection += component * r[row];
            }
            singular.push(lambda.abs());
            c.push(if lambda < 0.0 {
                -projection
            } else {
                projection
            });
        }
        return Ok(Triplets {
            singular,
            c,
            v,
            rank: size,
        });
    }
    let svd = svd(jac, size, size)?;
    let rank = svd.rank_columns;
    let c = (0..rank)
        .map(|k| (0..size).map(|i| svd.u[i * rank + k] * r[i]).sum())
        .collect();
    Ok(Triplets {
        singular: svd.singular,
        c,
        v: svd.v,
        rank,
    })
}

/// The trust-region step for `J p ≈ −r` with `|p| <= radius`, from `J`'s singular triplets
/// with `r`.
fn trust_region_step(triplets: &Triplets, size: usize, radius: Option<f64>) -> Vec<f64> {
    let Triplets {
        singular,
        c,
        v,
        rank,
    } = triplets;
    let rank = *rank;
    let largest = singular.first().copied().unwrap_or(0.0);
    let coefficients = |mu: f64| -> Vec<f64> {
        (0..rank)
            .map(|k| {
                let s = singular[k];
                if mu == 0.0 {
                    if s > PSEUDO_INVERSE_CUTOFF * largest {
                        -c[k] / s
                    } else {
                        0.0
                    }
                } else {
                    -s * c[k] / (s * s + mu)
                }
            })
            .collect()
    };
    let length = |coefficients: &[f64]| coefficients.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut chosen = coefficients(0.0);
    if let Some(radius) = radius {
        if length(&chosen) > radius {
            // |p(μ)| decreases in μ: bisect log μ.
            let (mut low, mut high) = (1e-30 * largest * largest, 1e30 * largest * largest + 1.0);
            for _ in 0..200 {
                let mid = (low * high).sqrt();
                if length(&coefficients(mid)) > radius {
                    low = mid;
                } else {
                    high = mid;
                }
                if high / low < 1.0 + 1e-6 {
                    break;
                }
            }
            chosen = coefficients(high);
        }
    }
    let mut p = vec![0.0; size];
    for (k, &coefficient) in chosen.iter().enumerate() {
        for (j, pj) in p.iter_mut().enumerate() {
            *pj += coefficient * v[j * rank + k];
        }
    }
    p
}

/// The factor (at most 1) that keeps every atom's move under the step `p` (solve coordinates)
/// within `MAX_ATOM_STEP`.
fn atom_step_cap(dynamics: &Dynamics, state: &State, p: &[f64]) -> f64 {
    let tangent = state.dim - 1;
    let largest_move = (0..state.len())
        .map(|a| coordinate_factor(dynamics, state, a) * norm(&p[a * tangent..(a + 1) * tangent]))
        .fold(0.0, f64::max);
    if largest_move > MAX_ATOM_STEP {
        MAX_ATOM_STEP / largest_move
    } else {
        1.0
    }
}

fn squared(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum()
}

/// Newton's method with a trust region until `max_a |F_a| <= tol · scale` or `max_iterations`
/// without a merge. Atoms within `merge_tol` merge after each accepted step (the residual is then
/// that of the merged atoms), so the atoms of a cluster being gathered leave the problem as they
/// meet rather than at the end of a polish: a coarsened state's few hundred atoms shrink to its
/// clusters' count within the polish, and each dense eigendecomposition is of the atoms left.
/// (Atoms merge for good once within `merge_tol`, even if the polish would have moved them
/// apart again: the merge distance is the certification's resolution.) The trust region's
/// radius carries over a merge: starting it afresh there, as each polish round after a merge
/// used to, left more polishes stalled (20 of the bound sweep's 120 end states polished as they
/// ended, against 25 with the radius kept and 26 at solver revision 11). A rejected step leaves
/// the state as it is, and its Jacobian and triplets are kept.
pub(crate) fn polish(
    dynamics: &Dynamics,
    state: &mut State,
    tol: f64,
    merge_tol: f64,
    max_iterations: usize,
) -> Result<Polish, SolverError> {
    let tangent = state.dim - 1;
    let mut current = residual(dynamics, state)?;
    let mut history = vec![current.max_field];
    let mut radius: Option<f64> = None;
    let mut iterations = 0;
    let mut since_merge = 0;
    // The Jacobian at the current state and its triplets, kept across rejected steps.
    let mut kept: Option<(Vec<f64>, Triplets)> = None;
    // USA's Jacobian is a scaled Hessian: symmetric.
    let symmetric = dynamics.attention == Attention::Usa;
    while current.max_field > tol * current.scale && since_merge < max_iterations {
        iterations += 1;
        since_merge += 1;
        let size = state.len() * tangent;
        let (jac, triplets) = match kept.take() {
            Some(model) => model,
            None => {
                let jac = jacobian(dynamics, state)?;
                let triplets = triplets(&jac, &current.values, size, symmetric)?;
                (jac, triplets)
            }
        };
        let mut p = trust_region_step(&triplets, size, radius);
        let shrink = atom_step_cap(dynamics, state, &p);
        p.iter_mut().for_each(|v| *v *= shrink);
        let step_length = squared(&p).sqrt();
        if step_length == 0.0 {
            break;
        }
        let mut model = current.values.clone();
        for i in 0..size {
            model[i] += (0..size).map(|j| jac[i * size + j] * p[j]).sum::<f64>();
        }
        let trial_state = retract(dynamics, state, &p);
        let trial = residual(dynamics, &trial_state)?;
        let before = squared(&current.values);
        let actual = before - squared(&trial.values);
        let predicted = before - squared(&model);
        let ratio = if predicted > 0.0 {
            actual / predicted
        } else {
            -1.0
        };
        if ratio > 1e-4 && actual > 0.0 {
            *state = trial_state;
            current = trial;
            if merge_close(state, merge_tol) {
                current = residual(dynamics, state)?;
                since_merge = 0;
            }
            history.push(current.max_field);
            if ratio > 0.75 && radius.is_none_or(|r| step_length > 0.99 * r) {
                radius = Some(2.0 * step_length);
            } else if ratio < 0.25 {
                radius = Some(0.25 * step_length);
            } else {
                radius = Some(radius.unwrap_or(step_length).max(step_length));
            }
        } else {
            radius = Some(0.25 * step_length);
            if step_length < 1e-15 {
                break;
            }
            // The state is unchanged: so are its Jacobian and the triplets.
            kept = Some((jac, triplets));
        }
    }
    Ok(Polish {
        iterations,
        history,
        converged: current.max_field <= tol * current.scale,
        residual: current.max_field,
        scale: current.scale,
    })
}

/// The objective the regime optimizes, `E` in descent and `−E` in ascent, kept as its part
/// without the atoms' self terms and `Σ_a m_a²` (see `calculus::energy_without_self`), so that
/// two values are compared through their difference: exact in the self terms while no atoms
/// merged, and never rounded at the scale of `e^β` that the `paper` kernel gives them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Objective {
    /// `∓Ẽ`.
    value: f64,
    /// `Σ_a m_a²`.
    self_mass: f64,
    /// `∓w(1) / (2β)`: the objective is `value + self_weight · self_mass`.
    self_weight: f64,
}

impl Objective {
    /// `self − other`.
    pub(crate) fn minus(&self, other: &Objective) -> f64 {
        // Exactly 0 in the self terms while no atoms merged (equal `self_mass`).
        (self.value - other.value) + self.self_weight * (self.self_mass - other.self_mass)
    }
}

/// The objective of `state` (see [`Objective`]).
pub(crate) fn objective(dynamics: &Dynamics, state: &State) -> Objective {
    let sign = -dynamics.sign();
    let (value, self_mass) = energy_without_self(dynamics, state);
    Objective {
        value: sign * value,
        self_mass,
        self_weight: sign * dynamics.weight(1.0) / (2.0 * dynamics.beta),
    }
}

/// `objective(to) − objective(from)`: from [`energy_change`] (its error a few ulps of its terms),
/// when the two states are the same atoms (a step, before any merge); else the difference of
/// the two objectives.
pub(crate) fn objective_change(dynamics: &Dynamics, from: &State, to: &State) -> f64 {
    match energy_change(dynamics, from, to) {
        Some(change) => -dynamics.sign() * change,
        None => objective(dynamics, to).minus(&objective(dynamics, from)),
    }
}

/// Projected gradient descent of the objective along `±F`, with backtracking, until
/// `max_a |F_a| <= tol · scale` or `max_steps`; atoms within `merge_tol` merge. Returns the
/// number of accepted steps.
///
/// The flow stops once the field is below `tol` of its scale and the objective exceeds
/// `target.0`'s by at most `target.1`: off a saddle of weak negative curvature the field starts
/// below `tol` already, and stopping there would hand Newton a state it polishes straight back
/// onto the saddle.
///
/// It also stops when `handover` accepts the state, which it is offered every
/// [`HANDOVER_EVERY`] accepted steps: near a minimum of
/// weak curvature (λ of order 1e-5 against a Hessian norm of order 0.1) the flow's last stretch
/// takes of the order of `‖H‖/λ` steps per factor `e`, where Newton's method takes a few.
pub(crate) fn flow(
    dynamics: &Dynamics,
    state: &mut State,
    merge_tol: f64,
    tol: f64,
    target: (Objective, f64),
    max_steps: usize,
    handover: &mut dyn FnMut(&State) -> Result<bool, SolverError>,
) -> Result<usize, SolverError> {
    let dim = state.dim;
    let mut h: f64 = 0.1;
    let mut steps = 0;
    while steps < max_steps {
        let parts = field_parts(dynamics, state);
        let max_field = parts.field.chunks_exact(dim).map(norm).fold(0.0, f64::max);
        if parts.field.iter().any(|v| !v.is_finite()) {
            return Err(SolverError::CertifyFailed {
                stage: "flow",
                reason: format!("non-finite field after {steps} steps"),
            });
        }
        if max_field <= tol * parts.scale && objective(dynamics, state).minus(&target.0) <= target.1
        {
            break;
        }
        let rate: f64 = parts
            .field
            .chunks_exact(dim)
            .zip(&state.masses)
            .map(|(f, m)| m * dot_self(f))
            .sum();
        let sign = dynamics.sign();
        loop {
            // Never move an atom by more than MAX_ATOM_STEP.
            h = h.min(MAX_ATOM_STEP / max_field);
            let mut trial = state.clone();
            for a in 0..trial.len() {
                let x = &mut trial.positions[a * dim..(a + 1) * dim];
                for (xk, fk) in x.iter_mut().zip(&parts.field[a * dim..(a + 1) * dim]) {
                    *xk += h * sign * fk;
                }
                let length = norm(x);
                x.iter_mut().for_each(|xk| *xk /= length);
            }
            if objective_change(dynamics, state, &trial) <= -1e-4 * h * rate {
                *state = trial;
                h *= 1.5;
                break;
            }
            h *= 0.5;
            if h < 1e-14 {
                // Round-off: the objective no longer resolves the decrease.
                return Ok(steps);
            }
        }
        steps += 1;
        merge_close(state, merge_tol);
        if steps % HANDOVER_EVERY == 0 && handover(state)? {
            break;
        }
    }
    Ok(steps)
}

fn dot_self(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

/// Trust-region Newton descent of the objective (Moré–Sorensen steps through the
/// eigendecomposition of the objective Hessian `J` in the solve coordinates): each step
/// minimizes the quadratic model `r·p + ½ pᵀJp` within `|p| <= Δ`, following negative curvature
/// where there is some, and is kept when the objective falls by at least a tenth of what the
/// model predicts. Atoms within `merge_tol` merge after each kept step. Stops when `handover`
/// accepts the state (offered after each kept interior Newton step, where the model is convex
/// and trusted), when the model predicts no decrease or the trust region collapses, or after
/// `max_iterations`. USA only (`J` symmetric, the Hessian of the objective in the solve
/// coordinates, `r` its gradient). Returns the iterations taken.
pub(crate) fn descend(
    dynamics: &Dynamics,
    state: &mut State,
    merge_tol: f64,
    max_iterations: usize,
    handover: &mut dyn FnMut(&State) -> Result<bool, SolverError>,
) -> Result<usize, SolverError> {
    let tangent = state.dim - 1;
    let mut radius = DESCENT_RADIUS;
    let mut iterations = 0;
    // The model at the current state: kept across rejected steps, which leave the state as is.
    let mut model = None;
    while iterations < max_iterations {
        iterations += 1;
        let size = state.len() * tangent;
        let (eigen, c) = match model.take() {
            Some(kept) => kept,
            None => {
                let current = residual(dynamics, state)?;
                let eigen = symmetric_eigen(&jacobian(dynamics, state)?, size)?;
                // Eigen-coordinates of the gradient.
                let c: Vec<f64> = (0..size)
                    .map(|k| {
                        (0..size)
                            .map(|i| eigen.vectors[i * size + k] * current.values[i])
                            .sum()
                    })
                    .collect();
                (eigen, c)
            }
        };
        let step = model_step(&eigen.values, &c, radius);
        let interior = step.interior;
        let mut q = step.q;
        let mut p = vec![0.0; size];
        for (k, &qk) in q.iter().enumerate() {
            for (i, pi) in p.iter_mut().enumerate() {
                *pi += qk * eigen.vectors[i * size + k];
            }
        }
        let shrink = atom_step_cap(dynamics, state, &p);
        p.iter_mut().for_each(|v| *v *= shrink);
        q.iter_mut().for_each(|v| *v *= shrink);
        let predicted: f64 = -(0..size)
            .map(|k| c[k] * q[k] + 0.5 * eigen.values[k] * q[k] * q[k])
            .sum::<f64>();
        let step_length = norm(&q);
        if predicted.is_nan() || predicted <= 0.0 || step_length == 0.0 {
            break;
        }
        let trial = retract(dynamics, state, &p);
        let actual = -objective_change(dynamics, state, &trial);
        let ratio = actual / predicted;
        if ratio > 0.1 {
            *state = trial;
            merge_close(state, merge_tol);
            if ratio > 0.75 && step_length > 0.99 * radius {
                radius *= 2.0;
            }
            // Newton's root finding is offered the rest after an interior Newton step: where the
            // model is convex and trusted, not at every step of a long descent.
            if interior && handover(state)? {
                break;
            }
        } else {
            radius = 0.25 * step_length;
            if radius < 1e-15 {
                break;
            }
            model = Some((eigen, c));
        }
    }
    Ok(iterations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Activation;
    use crate::run::Problem;
    use crate::testing::default_params;

    /// The paper's S^1 sweep at GeLU, β = 5, and two atoms of half the mass each `gap` apart
    /// around the angle where its heaviest certified atom sits: attention and the perceptron
    /// gather them into one.
    fn gathering_pair(gap: f64) -> (Dynamics, State) {
        let mut params = default_params();
        params.model.beta = 5.0;
        params.perceptron.activation = Activation::Gelu;
        let dynamics = Problem::new(params, None, None)
            .expect("valid parameters")
            .dynamics;
        let centre = -2.109_313_572_895_152_4_f64;
        let angles = [centre - gap / 2.0, centre + gap / 2.0];
        let state = State {
            dim: 2,
            positions: angles.iter().flat_map(|t| [t.cos(), t.sin()]).collect(),
            masses: vec![0.5, 0.5],
        };
        (dynamics, state)
    }

    #[test]
    fn a_polish_merges_atoms_as_they_meet() {
        let (dynamics, start) = gathering_pair(1e-3);
        let mut merging = start.clone();
        let merged = polish(&dynamics, &mut merging, 1e-12, 1e-6, 100).expect("polishes");
        assert!(merged.converged, "residual {:e}", merged.residual);
        assert_eq!(merging.len(), 1, "the pair met within the polish");
        // Converged on the merged atom's own residual, not on the pair's before the merge.
        let own = residual(&dynamics, &merging).expect("finite").max_field;
        assert_eq!(merged.residual, own);
        assert_eq!(merged.history.last(), Some(&own));
        // Without merging the polish keeps both atoms, however close it brings them.
        let mut apart = start;
        polish(&dynamics, &mut apart, 1e-12, 0.0, 100).expect("polishes");
        assert_eq!(apart.len(), 2);
        let gap = crate::sphere::dot(apart.position(0), apart.position(1))
            .min(1.0)
            .acos();
        assert!(gap < 1e-6, "the atoms end {gap:e} apart");
    }
}

//! Exact first and second derivatives of the energy of a few atoms (MODEL.md §4, §9), in an
//! orthonormal tangent basis at each atom.
//!
//! The energy is extended off the product of spheres by dropping each atom's self term (a
//! constant `m_a² w(1) / (2β)` on the sphere) and writing the potential with `<a_j, x>` for any
//! `x`:
//!
//! `Ẽ = (1/β) Σ_{a<b} m_a m_b w(<x_a,x_b>) + ½ Σ_a m_a Σ_j s_j φ(<a_j,x_a>)`,
//!
//! so that, with `w' = β w`, `w'' = β² w` and `φ' = 2σ`,
//!
//! - `∇_a Ẽ = m_a (S_a + D_a)`, `S_a = Σ_{b≠a} m_b w_ab x_b`, `D_a = Σ_j s_j σ(t_aj) a_j`,
//!   `t_aj = <a_j, x_a>`: its tangential part is `m_a F_a`, the field of §4 (USA);
//! - `∂²Ẽ/∂x_a∂x_b = m_a m_b w_ab (β x_b x_aᵀ + I)` for `b ≠ a`;
//! - `∂²Ẽ/∂x_a² = m_a (β Σ_{b≠a} m_b w_ab x_b x_bᵀ + Σ_j s_j σ'(t_aj) a_j a_jᵀ)`.
//!
//! The Riemannian Hessian is `P_a (∂²Ẽ/∂x_a∂x_b) P_b − δ_ab <x_a, ∇_a Ẽ> P_a`; in the basis
//! `U_a` (rows orthonormal, orthogonal to `x_a`) the blocks are `U_a (…) U_bᵀ`. The result does
//! not depend on the extension: a different one changes the ambient Hessian and the Weingarten
//! term `<x_a, ∇_a Ẽ>` by amounts that cancel.

use crate::field::Dynamics;
use crate::kernel::{exp_in_place, Backend};
use crate::params::{Activation, Attention};
use crate::perceptron::Sigma;
use crate::quadrature::GaussLegendre;
use crate::sphere::{dot, project_tangent};
use crate::state::State;

use std::sync::OnceLock;

/// σ'(s), the derivative of the activation (for `relu` and `leaky_relu`, the one-sided value that
/// `Sigma::sigma` takes: the slope for `s > 0`, the other one at and below 0).
pub fn sigma_prime(sigma: &Sigma, s: f64) -> f64 {
    match sigma.activation {
        Activation::Relu => {
            if s > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Gelu => crate::perceptron::normal_cdf(s) + s * crate::perceptron::normal_pdf(s),
        Activation::Linear => 1.0,
        Activation::Tanh => {
            let t = s.tanh();
            1.0 - t * t
        }
        Activation::LeakyRelu => {
            if s > 0.0 {
                1.0
            } else {
                sigma.leaky_slope
            }
        }
        Activation::None => 0.0,
    }
}

/// An orthonormal basis of the tangent space at the unit vector `x`: `d - 1` rows of `d` values,
/// the columns 2..d of the Householder reflector that maps `e_1` to `±x`.
pub fn tangent_basis(x: &[f64]) -> Vec<f64> {
    let dim = x.len();
    let sign = if x[0] >= 0.0 { 1.0 } else { -1.0 };
    // v = x + sign e_1, |v|² = 2 (1 + |x_1|); Q = I - 2 v vᵀ / |v|².
    let mut v = x.to_vec();
    v[0] += sign;
    let scale = 1.0 / (1.0 + x[0].abs());
    let mut basis = Vec::with_capacity((dim - 1) * dim);
    for column in 1..dim {
        for row in 0..dim {
            let identity = if row == column { 1.0 } else { 0.0 };
            basis.push(identity - scale * v[row] * v[column]);
        }
    }
    basis
}

/// Coordinates `U x` of the ambient vector `y` in the tangent basis `basis` (rows of `dim`).
pub fn coordinates(basis: &[f64], dim: usize, y: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; basis.len() / dim];
    coordinates_into(basis, dim, y, &mut out);
    out
}

/// [`coordinates`] into `out` (`d - 1` values).
fn coordinates_into(basis: &[f64], dim: usize, y: &[f64], out: &mut [f64]) {
    for (o, u) in out.iter_mut().zip(basis.chunks_exact(dim)) {
        *o = dot(u, y);
    }
}

/// The ambient vector `Uᵀ ξ` of tangent coordinates `ξ`.
pub fn ambient(basis: &[f64], dim: usize, coordinates: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; dim];
    for (u, &c) in basis.chunks_exact(dim).zip(coordinates) {
        for (o, &uk) in out.iter_mut().zip(u) {
            *o += c * uk;
        }
    }
    out
}

/// The energy `E` of MODEL.md §4 as a double sum (self terms included).
pub fn energy(dynamics: &Dynamics, state: &State) -> f64 {
    let n = state.len();
    let mut pair = 0.0;
    let mut potential = 0.0;
    for a in 0..n {
        let xa = state.position(a);
        let mut row = 0.0;
        for b in 0..n {
            row += state.masses[b] * dynamics.weight(dot(xa, state.position(b)));
        }
        pair += state.masses[a] * row;
        potential += state.masses[a] * dynamics.perceptron.potential(xa);
    }
    pair / (2.0 * dynamics.beta) + 0.5 * potential
}

/// The energy without the atoms' self terms, `Ẽ = (1/β) Σ_{a<b} m_a m_b w_ab + ½ Σ_a m_a v(x_a)`,
/// and `Σ_a m_a²`: `E = Ẽ + w(1) Σ_a m_a² / (2β)`. The self terms are constant while no atoms
/// merge, and with the `paper` kernel they are `e^β` times larger than what atoms apart add:
/// comparisons of energies are made on `Ẽ` (`newton::Objective`), not on `E`.
pub(crate) fn energy_without_self(dynamics: &Dynamics, state: &State) -> (f64, f64) {
    let n = state.len();
    let mut pairs = 0.0;
    let mut potential = 0.0;
    let mut self_mass = 0.0;
    for a in 0..n {
        let xa = state.position(a);
        let mut row = 0.0;
        for b in a + 1..n {
            row += state.masses[b] * dynamics.weight(dot(xa, state.position(b)));
        }
        pairs += state.masses[a] * row;
        potential += state.masses[a] * dynamics.perceptron.potential(xa);
        self_mass += state.masses[a] * state.masses[a];
    }
    (pairs / dynamics.beta + 0.5 * potential, self_mass)
}

/// `Ẽ(to) − Ẽ(from)` (`Ẽ`: the energy without the atoms' self terms, which cancel) on the
/// sphere, for two states of the same atoms (same count, same masses), computed as a sum of
/// differences, so that its error is a few ulps of the sum of its terms' magnitudes (each of
/// first order in the step) rather than of `Ẽ`. Near a critical point a descent step lowers
/// `Ẽ ~ 1e-3` by `1e-18` or less, below the rounding of either value (a few `1e-19`); the terms
/// then cancel to second order, and against a 60-digit reference at certified minima the
/// relative error of the change is about 1e-13 for steps of 1e-4 rad, 5e-9 at 1e-8 and 1e-6 at
/// 1e-10 (the difference of the rounded energies: 1e-6, 1 and 1e5).
///
/// Positions are read as the points `x / |x|` they stand for: rounding leaves `|x|² = 1 + ε` with
/// `|ε|` up to a few `1e-16`, and moving off the sphere by that much changes `Ẽ` by `ε` times its
/// radial derivative (of the order of the field's scale) — more than the decreases at stake. So
/// with `ε` from [`unit_defect`] (exact to `1e-32`), `c̃_ab = <x_a,x_b> (1 − (ε_a + ε_b)/2)` and
/// `c̃' − c̃ = (<δ_a,x'_b> + <x_a,δ_b>)(1 − (ε'_a + ε'_b)/2) − <x_a,x_b>(Δε_a + Δε_b)/2`,
/// `δ = x' − x`; then `w(c̃') − w(c̃) = w(c̃) expm1(β (c̃' − c̃))`, and each neuron's
/// `φ(t̃₁) − φ(t̃₀)` from [`phi_change`] with `t̃ = <a_j, x> (1 − ε/2)` likewise. `None` when the
/// two states are not the same atoms.
pub fn energy_change(dynamics: &Dynamics, from: &State, to: &State) -> Option<f64> {
    if from.dim != to.dim || from.masses != to.masses {
        return None;
    }
    let dim = from.dim;
    let n = from.len();
    let delta: Vec<f64> = to
        .positions
        .iter()
        .zip(&from.positions)
        .map(|(b, a)| b - a)
        .collect();
    let step = |a: usize| &delta[a * dim..(a + 1) * dim];
    let defects =
        |state: &State| -> Vec<f64> { (0..n).map(|a| unit_defect(state.position(a))).collect() };
    let (eps0, eps1) = (defects(from), defects(to));
    let perceptron = &dynamics.perceptron;
    let mut pairs = 0.0;
    let mut potential = 0.0;
    for a in 0..n {
        let xa = from.position(a);
        let mut row = 0.0;
        for b in a + 1..n {
            let c = dot(xa, from.position(b));
            let change = (dot(step(a), to.position(b)) + dot(xa, step(b)))
                * (1.0 - 0.5 * (eps1[a] + eps1[b]))
                - 0.5 * c * ((eps1[a] - eps0[a]) + (eps1[b] - eps0[b]));
            let before = c * (1.0 - 0.5 * (eps0[a] + eps0[b]));
            let exponent = dynamics.beta * change;
            // Beyond |β Δc̃| = 1 nothing cancels, and the product could overflow (shifted kernel
            // at β > 700: an infinite expm1 times an underflowed weight).
            let difference = if exponent.abs() <= 1.0 {
                dynamics.weight(before) * exponent.exp_m1()
            } else {
                dynamics.weight(before + change) - dynamics.weight(before)
            };
            row += from.masses[b] * difference;
        }
        pairs += from.masses[a] * row;
        let drift: f64 = (0..perceptron.width())
            .map(|j| {
                let direction = perceptron.direction(j);
                let t = dot(direction, xa);
                let t0 = t * (1.0 - 0.5 * eps0[a]);
                let dt =
                    dot(direction, step(a)) * (1.0 - 0.5 * eps1[a]) - 0.5 * t * (eps1[a] - eps0[a]);
                perceptron.weights[j] * phi_change(&perceptron.sigma, t0, t0 + dt, dt)
            })
            .sum();
        potential += from.masses[a] * drift;
    }
    Some(pairs / dynamics.beta + 0.5 * potential)
}

/// `|x|² − 1`, exact to about `1e-32` where it is of the order of rounding (error-free products
/// and sums, Ogita–Rump–Oishi): how far a rounded unit vector is off the sphere.
pub fn unit_defect(x: &[f64]) -> f64 {
    let mut sum = -1.0;
    let mut errors = 0.0;
    for &xk in x {
        let product = xk * xk;
        let product_error = xk.mul_add(xk, -product);
        let total = sum + product;
        let back = total - product;
        let sum_error = (sum - back) + (product - (total - back));
        sum = total;
        errors += sum_error + product_error;
    }
    sum + errors
}

/// Points of the Gauss–Legendre rule in [`phi_change`]: exact for polynomials of degree 15.
const PHI_NODES: usize = 8;

/// Widest panel of the quadrature in [`phi_change`]: 8-point Gauss–Legendre on a panel of
/// width `h` errs by about `h^16 σ^(16) / 10^12`, far below rounding for the smooth activations.
const PHI_PANEL: f64 = 0.25;

/// `φ(t₁) − φ(t₀)` with an error relative to the change, given `dt = t₁ − t₀` computed directly
/// (not as the difference of the rounded `t`s): the piecewise quadratic activations by algebra
/// (`(t₁ − t₀)(t₁ + t₀)` on one side of 0), the smooth ones as `∫ 2σ` by Gauss–Legendre
/// quadrature on panels of width at most [`PHI_PANEL`].
pub(crate) fn phi_change(sigma: &Sigma, t0: f64, t1: f64, dt: f64) -> f64 {
    if !dt.is_finite() {
        return sigma.phi(t1) - sigma.phi(t0);
    }
    let quadratic = |slope_above: f64, slope_below: f64| {
        let slope = |t: f64| if t > 0.0 { slope_above } else { slope_below };
        if (t0 > 0.0) == (t1 > 0.0) {
            slope(t0) * dt * (t0 + t1)
        } else {
            slope(t1) * t1 * t1 - slope(t0) * t0 * t0
        }
    };
    match sigma.activation {
        Activation::None => 0.0,
        Activation::Linear => dt * (t0 + t1),
        Activation::Relu => quadratic(1.0, 0.0),
        Activation::LeakyRelu => quadratic(1.0, sigma.leaky_slope),
        Activation::Gelu | Activation::Tanh => {
            static RULE: OnceLock<GaussLegendre> = OnceLock::new();
            let rule = RULE.get_or_init(|| GaussLegendre::new(PHI_NODES));
            let panels = (dt.abs() / PHI_PANEL).ceil().max(1.0);
            let width = dt / panels;
            (0..panels as usize)
                .map(|panel| {
                    let start = t0 + panel as f64 * width;
                    rule.integrate_width(start, width, |s| 2.0 * sigma.sigma(s))
                })
                .sum()
        }
    }
}

/// Per-atom pieces of the field: the unprojected attention sum (`S_a`, divided by `Z_a` for SA),
/// the unprojected drift `D_a`, and the magnitudes of the terms they add up.
pub(crate) struct FieldParts {
    /// `F_a` (unsigned: `A_a + u(x_a)`), `n × d`.
    pub field: Vec<f64>,
    /// Largest attention an atom feels, `Σ_{b≠a} m_b w_ab` (`/ Z_a` for SA, at most 1), over the
    /// atoms. An atom's own term is tangentially zero and never computed, so it is left out: with
    /// the `paper` kernel it is `m_a e^β`, far above what atoms apart feel.
    pub attention_scale: f64,
    /// Largest, over the atoms, of the sum of the magnitudes of the terms of `F_a` (attention
    /// felt plus perceptron): the field scale.
    pub scale: f64,
}

/// The attention weights `w_ab` of the pairs `a < b`, row after row (`a`, then `b`, ascending),
/// from the pair kernels' vectorised `exp` (a couple of ulps; flushed to zero below
/// `f64::MIN_POSITIVE`): the field and the Hessian take one `exp` per pair, most of their cost
/// with the C library's. A NaN exponent gives 0 there, not NaN; a non-finite position still
/// makes the field non-finite (it multiplies the weights), which `newton::residual` refuses.
fn pair_weights(dynamics: &Dynamics, state: &State) -> Vec<f64> {
    let n = state.len();
    let mut weights = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for a in 0..n {
        let xa = state.position(a);
        for b in a + 1..n {
            weights.push(dynamics.weight_exponent(dot(xa, state.position(b))));
        }
    }
    exp_in_place(Backend::detect(), &mut weights);
    weights
}

/// The field `F_a = A_a + u(x_a)` (without the regime's sign) of every atom, with the scales of
/// its terms.
pub(crate) fn field_parts(dynamics: &Dynamics, state: &State) -> FieldParts {
    let dim = state.dim;
    let n = state.len();
    let perceptron = &dynamics.perceptron;
    let mut field = vec![0.0; n * dim];
    let mut felt = vec![0.0; n];
    // Each pair's weight once, added to both atoms: atom `a` receives its terms in the order of
    // `b` (from the earlier atoms' rows, then its own), as a loop over every `b` would add them.
    let weights = pair_weights(dynamics, state);
    let mut pair = 0;
    for a in 0..n {
        let xa = state.position(a);
        for b in a + 1..n {
            let xb = state.position(b);
            let w = weights[pair];
            pair += 1;
            let (wa, wb) = (state.masses[b] * w, state.masses[a] * w);
            felt[a] += wa;
            felt[b] += wb;
            let (head, tail) = field.split_at_mut(b * dim);
            for ((oa, ob), (&x_a, &x_b)) in head[a * dim..(a + 1) * dim]
                .iter_mut()
                .zip(&mut tail[..dim])
                .zip(xa.iter().zip(xb))
            {
                *oa += wa * x_b;
                *ob += wb * x_a;
            }
        }
    }
    let mut attention_scale = 0.0f64;
    let mut scale = 0.0f64;
    for a in 0..n {
        let xa = state.position(a);
        let out = &mut field[a * dim..(a + 1) * dim];
        let mut felt = felt[a];
        if dynamics.attention == Attention::Sa {
            // The atom's own weight counts in the normalization Z_a.
            let z = felt + state.masses[a] * dynamics.weight(1.0);
            out.iter_mut().for_each(|o| *o /= z);
            felt /= z;
        }
        attention_scale = attention_scale.max(felt);
        let mut magnitude = 0.0;
        for j in 0..perceptron.width() {
            let direction = perceptron.direction(j);
            let c = perceptron.weights[j] * perceptron.sigma.sigma(dot(direction, xa));
            magnitude += c.abs();
            for (o, &x) in out.iter_mut().zip(direction) {
                *o += c * x;
            }
        }
        scale = scale.max(felt + magnitude);
        project_tangent(xa, out);
    }
    FieldParts {
        field,
        attention_scale,
        scale,
    }
}

/// The field `F_a` (unsigned) of every atom, `n × d`.
pub fn field(dynamics: &Dynamics, state: &State) -> Vec<f64> {
    field_parts(dynamics, state).field
}

/// The field's scale: the largest, over the atoms, of the sum of the magnitudes of the terms
/// that make up `F_a`, `Σ_{b≠a} m_b w_ab` (divided by `Z_a` for SA) plus
/// `Σ_j |s_j σ(<a_j,x_a>)|`. Rounding errors in `F_a` are a small multiple of `ε` times it, so
/// residuals are measured against it.
pub fn field_scale(dynamics: &Dynamics, state: &State) -> f64 {
    field_parts(dynamics, state).scale
}

/// The Riemannian gradient of `E` in the tangent bases ([`tangent_basis`] at each atom),
/// `k (d-1)` values: block `a` is `m_a U_a F_a` (USA; for SA this is not a gradient).
pub fn gradient(dynamics: &Dynamics, state: &State) -> Vec<f64> {
    let dim = state.dim;
    let field = field(dynamics, state);
    let mut out = Vec::with_capacity(state.len() * (dim - 1));
    for a in 0..state.len() {
        let basis = tangent_basis(state.position(a));
        let coordinates = coordinates(&basis, dim, &field[a * dim..(a + 1) * dim]);
        out.extend(coordinates.iter().map(|c| state.masses[a] * c));
    }
    out
}

/// The Riemannian Hessian of `E` at fixed masses (USA), row-major `N × N`, `N = k (d-1)`, in
/// the tangent bases of [`tangent_basis`] (see the module doc for the formulas).
pub fn hessian(dynamics: &Dynamics, state: &State) -> Vec<f64> {
    let dim = state.dim;
    let tangent = dim - 1;
    let n = state.len();
    let size = n * tangent;
    let beta = dynamics.beta;
    let perceptron = &dynamics.perceptron;
    let bases: Vec<Vec<f64>> = (0..n).map(|a| tangent_basis(state.position(a))).collect();
    // w_ab once per pair (the kernel is symmetric).
    let mut weights = vec![0.0; n * n];
    let mut pairs = pair_weights(dynamics, state).into_iter();
    for a in 0..n {
        for b in a + 1..n {
            let w = pairs.next().expect("a weight per pair");
            weights[a * n + b] = w;
            weights[b * n + a] = w;
        }
    }
    let mut hessian = vec![0.0; size * size];
    let mut diagonal = vec![0.0; tangent * tangent];
    let mut ua_xb = vec![0.0; tangent];
    let mut ub_xa = vec![0.0; tangent];
    for a in 0..n {
        let xa = state.position(a);
        let ma = state.masses[a];
        let ua = &bases[a];
        // Diagonal block, accumulated in a (d-1)² scratch.
        diagonal.fill(0.0);
        let mut weingarten = 0.0;
        for b in 0..n {
            if b == a {
                continue;
            }
            let xb = state.position(b);
            let mb = state.masses[b];
            let s = dot(xa, xb);
            let w = weights[a * n + b];
            weingarten += mb * w * s;
            coordinates_into(ua, dim, xb, &mut ua_xb);
            coordinates_into(&bases[b], dim, xa, &mut ub_xa);
            let c = beta * mb * w;
            for i in 0..tangent {
                for j in 0..tangent {
                    diagonal[i * tangent + j] += c * ua_xb[i] * ua_xb[j];
                }
            }
            // Off-diagonal block (a, b): m_a m_b w (β (U_a x_b)(U_b x_a)ᵀ + U_a U_bᵀ).
            let ub = &bases[b];
            let off = ma * mb * w;
            for i in 0..tangent {
                let row = &mut hessian[(a * tangent + i) * size + b * tangent..][..tangent];
                let ua_i = &ua[i * dim..(i + 1) * dim];
                for (j, h) in row.iter_mut().enumerate() {
                    let ub_j = &ub[j * dim..(j + 1) * dim];
                    *h = off * (beta * ua_xb[i] * ub_xa[j] + dot(ua_i, ub_j));
                }
            }
        }
        for neuron in 0..perceptron.width() {
            let direction = perceptron.direction(neuron);
            let t = dot(direction, xa);
            let sj = perceptron.weights[neuron];
            weingarten += sj * perceptron.sigma.sigma(t) * t;
            let curvature = sj * sigma_prime(&perceptron.sigma, t);
            if curvature == 0.0 {
                continue;
            }
            let ua_a = coordinates(ua, dim, direction);
            for i in 0..tangent {
                for j in 0..tangent {
                    diagonal[i * tangent + j] += curvature * ua_a[i] * ua_a[j];
                }
            }
        }
        for i in 0..tangent {
            diagonal[i * tangent + i] -= weingarten;
            let row = &mut hessian[(a * tangent + i) * size + a * tangent..][..tangent];
            for (j, h) in row.iter_mut().enumerate() {
                *h = ma * diagonal[i * tangent + j];
            }
        }
    }
    hessian
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Activation;

    #[test]
    fn tangent_basis_is_orthonormal_and_tangent() {
        for x in [
            vec![1.0, 0.0],
            vec![-0.6, 0.8],
            vec![0.0, 0.0, 1.0],
            vec![-0.5, 0.5, 0.5, 0.5],
        ] {
            let dim = x.len();
            let basis = tangent_basis(&x);
            let rows: Vec<&[f64]> = basis.chunks_exact(dim).collect();
            assert_eq!(rows.len(), dim - 1);
            for (i, u) in rows.iter().enumerate() {
                assert!(dot(u, &x).abs() < 1e-15);
                for (j, v) in rows.iter().enumerate() {
                    let expected = if i == j { 1.0 } else { 0.0 };
                    assert!((dot(u, v) - expected).abs() < 1e-15);
                }
            }
        }
    }

    #[test]
    fn phi_change_is_the_difference_of_phi_to_the_change_itself() {
        for &activation in Activation::ALL {
            let sigma = Sigma {
                activation,
                leaky_slope: 0.01,
            };
            // Wide intervals (several panels, across 0): the plain difference is accurate.
            for (t0, t1) in [
                (-1.3, 0.7),
                (0.2, 2.9),
                (-2.0, -0.1),
                (0.5, -1.5),
                (0.3, 0.31),
            ] {
                let plain = sigma.phi(t1) - sigma.phi(t0);
                let change = phi_change(&sigma, t0, t1, t1 - t0);
                assert!(
                    (change - plain).abs() <= 1e-14 * (1.0 + plain.abs()),
                    "{activation:?} on [{t0}, {t1}]: {change} vs {plain}"
                );
            }
            // Across the kink of the piecewise quadratic ones, by 2e-12 (φ of each end is exact
            // there, so their difference is).
            if matches!(
                activation,
                Activation::Relu | Activation::LeakyRelu | Activation::Linear
            ) {
                let (t0, t1) = (-1e-12, 1e-12);
                let expected = sigma.phi(t1) - sigma.phi(t0);
                let change = phi_change(&sigma, t0, t1, t1 - t0);
                assert!(
                    (change - expected).abs() <= 1e-15 * expected.abs(),
                    "{activation:?} across 0: {change} vs {expected}"
                );
            }
            // A tiny interval: φ(t + h) − φ(t) = 2σ(t) h + σ'(t) h² to within h³.
            for t in [-0.8, 0.4, 1.7] {
                let h = 1e-13;
                let expected = 2.0 * sigma.sigma(t) * h + sigma_prime(&sigma, t) * h * h;
                let change = phi_change(&sigma, t, t + h, h);
                assert!(
                    (change - expected).abs() <= 2e-15 * h,
                    "{activation:?} at {t}: {change} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn sigma_prime_is_the_derivative_of_sigma() {
        for &activation in Activation::ALL {
            let sigma = Sigma {
                activation,
                leaky_slope: 0.01,
            };
            for s in [-1.3, -0.4, 0.2, 0.9, 2.5] {
                let h = 1e-6;
                let fd = (sigma.sigma(s + h) - sigma.sigma(s - h)) / (2.0 * h);
                assert!(
                    (fd - sigma_prime(&sigma, s)).abs() < 1e-8,
                    "{activation:?} at {s}: {fd} vs {}",
                    sigma_prime(&sigma, s)
                );
            }
        }
    }
}

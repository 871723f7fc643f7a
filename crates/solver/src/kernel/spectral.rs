//! The spectral kernel on S^1: the pair sums from `K` Fourier modes in `O(n K)`.
//!
//! With `x_j = (cos θ_j, sin θ_j) ≅ z_j = e^{iθ_j}`, the shifted kernel expands as
//! `e^{β(cos φ - 1)} = Σ_{k ∈ Z} c_k e^{ikφ}`, `c_k = e^{-β} I_k(β)` (scaled modified Bessel
//! functions of the first kind, all in `(0, 1]`: nothing overflows). With the moments
//! `M_k = Σ_j m_j z_j^k`:
//!
//! - `Z_i = Σ_j m_j w_ij = c_0 M_0 + 2 Σ_{k>=1} c_k Re(z_i^k conj(M_k))`;
//! - the tangential part of `Σ_j m_j w_ij x_j` along `t_i = (-sin θ_i, cos θ_i)`, from
//!   `-sin φ · w(φ) = w'(φ)/β`: `T_i = -Σ_{k>=1} (2k/β) c_k Im(z_i^k conj(M_k))`;
//! - `Σ_i m_i Z_i = c_0 M_0² + 2 Σ_{k>=1} c_k |M_k|²` (the energy; every term non-negative).
//!
//! The attention field is then `T_i t_i` (USA) or `(T_i / Z_i) t_i` (SA): exactly tangent. The
//! `paper` kernel multiplies every coefficient by `e^β`.
//!
//! Truncation: [`SpectralPlan::new`] keeps the smallest `K` for which the neglected modes can
//! change `T_i` and `Z_i` by at most [`TRUNCATION_TOL`] (on the shifted scale, using
//! `|M_k| <= Σ m_j = 1`). Rounding: `SpectralSums::error_bound` bounds the absolute error of
//! `T_i` and `Z_i`; the field code recomputes directly the few SA rows whose `Z_i` is so small
//! that the bound would exceed the accuracy target.
//!
//! Determinism: moments are summed over fixed chunks of particles (independent of the thread
//! count), chunk partial sums combined in chunk order; each particle's sums are evaluated by one
//! task.
//!
//! The coefficients come from Miller's backward recurrence `I_{k-1} = (2k/β) I_k + I_{k+1}`,
//! started far above the last significant order and normalized by `I_0 + 2 Σ_{k>=1} I_k = e^β`
//! (so directly scaled by `e^{-β}`), with rescaling against overflow.

use std::cell::RefCell;
use std::rc::Rc;

use rayon::prelude::*;

use super::lanes::{Lanes, WIDTH};
use super::{run_on, Backend, LaneTask};
use crate::par::Par;

/// The largest change of `T_i` or `Z_i` (shifted kernel) the neglected modes may cause.
pub const TRUNCATION_TOL: f64 = 1e-15;

/// Particles per chunk of the moment sums and the evaluation (fixed, for determinism).
const CHUNK: usize = 1024;

/// Groups of [`WIDTH`] particles the moment and evaluation loops carry at once (independent
/// dependency chains, for the pipeline; the results do not depend on it).
const GROUPS: usize = 4;

/// `e^{-β} I_k(β)` for `k = 0..count` (Miller's backward recurrence, normalized by the sum rule).
pub fn scaled_bessel(beta: f64, count: usize) -> Vec<f64> {
    assert!(
        beta > 0.0 && beta.is_finite(),
        "β must be positive and finite"
    );
    // Orders up to `top` carry every significant term of the sum rule; start well above both.
    let top = count.max((beta + 12.0 * beta.sqrt()).ceil() as usize + 30);
    let start = 2 * (top + (40.0 * top as f64).sqrt().ceil() as usize);
    let mut values = vec![0.0; count];
    let (mut above, mut current) = (0.0f64, 1e-280f64); // I_{k+1}, I_k at k = start
    let mut sum = 0.0;
    for k in (1..=start).rev() {
        if k < count {
            values[k] = current;
        }
        sum += 2.0 * current;
        let below = (2.0 * k as f64 / beta) * current + above;
        above = current;
        current = below;
        if current > 1e250 {
            let scale = 1e-250;
            current *= scale;
            above *= scale;
            sum *= scale;
            values.iter_mut().for_each(|v| *v *= scale);
        }
    }
    // `current` is now I_0.
    sum += current;
    if count > 0 {
        values[0] = current;
    }
    values.iter_mut().for_each(|v| *v /= sum);
    values
}

/// The truncated expansion for one β.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralPlan {
    /// β.
    pub beta: f64,
    /// `c_k = e^{-β} I_k(β)` for `k = 0..=K`.
    pub coefficients: Vec<f64>,
}

impl SpectralPlan {
    /// The plan keeping the fewest modes within [`TRUNCATION_TOL`].
    pub fn new(beta: f64) -> SpectralPlan {
        let top = (beta + 12.0 * beta.sqrt()).ceil() as usize + 40;
        let c = scaled_bessel(beta, top + 1);
        // Tails of Σ_{k>K} (2k/β) c_k and 2 Σ_{k>K} c_k, from the top down.
        let mut modes = top;
        let (mut tail_tangent, mut tail_weight) = (0.0, 0.0);
        for k in (1..=top).rev() {
            tail_tangent += 2.0 * k as f64 / beta * c[k];
            tail_weight += 2.0 * c[k];
            if tail_tangent.max(tail_weight) > TRUNCATION_TOL {
                break;
            }
            modes = k - 1;
        }
        SpectralPlan {
            beta,
            coefficients: c[..=modes.max(1)].to_vec(),
        }
    }

    /// [`SpectralPlan::new`], kept per thread for the last β asked for: a run asks for the
    /// same plan at every evaluation of its field, and computing it costs about as much as
    /// evaluating a few hundred particles.
    pub fn cached(beta: f64) -> Rc<SpectralPlan> {
        thread_local! {
            static LAST: RefCell<Option<Rc<SpectralPlan>>> = const { RefCell::new(None) };
        }
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some(plan) if plan.beta.to_bits() == beta.to_bits() => Rc::clone(plan),
                _ => {
                    let plan = Rc::new(SpectralPlan::new(beta));
                    *last = Some(Rc::clone(&plan));
                    plan
                }
            }
        })
    }

    /// The number of modes `K` kept.
    pub fn modes(&self) -> usize {
        self.coefficients.len() - 1
    }
}

/// The moments `M_k` for `k = 0..=modes` of one chunk, as `(re, im)` pairs.
struct MomentsTask<'a> {
    positions: &'a [f64],
    masses: &'a [f64],
    modes: usize,
}

/// Loads the (x, y) coordinates of four particles from row-major positions, padding missing
/// particles with `(1, 0)`.
#[inline(always)]
fn load_xy<L: Lanes>(positions: &[f64], first: usize) -> (L, L) {
    let (mut x, mut y) = ([1.0; WIDTH], [0.0; WIDTH]);
    for lane in 0..WIDTH.min(positions.len() / 2 - first) {
        x[lane] = positions[2 * (first + lane)];
        y[lane] = positions[2 * (first + lane) + 1];
    }
    (L::load(&x), L::load(&y))
}

/// [`load_xy`] with the four particles' masses (0 for missing particles).
#[inline(always)]
fn load_xym<L: Lanes>(positions: &[f64], masses: &[f64], first: usize) -> (L, L, L) {
    let (x, y) = load_xy::<L>(positions, first);
    let mut m = [0.0; WIDTH];
    let count = WIDTH.min(masses.len() - first);
    m[..count].copy_from_slice(&masses[first..first + count]);
    (x, y, L::load(&m))
}

/// `(a + ib)(c + id)`.
#[inline(always)]
fn complex_mul<L: Lanes>(a: L, b: L, c: L, d: L) -> (L, L) {
    (a.mul(c).sub(b.mul(d)), a.mul_add(d, b.mul(c)))
}

impl LaneTask for MomentsTask<'_> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn run<L: Lanes>(self) -> Vec<f64> {
        let mut real = vec![L::splat(0.0); self.modes + 1];
        let mut imaginary = vec![L::splat(0.0); self.modes + 1];
        let n = self.masses.len();
        // `GROUPS` groups of `WIDTH` particles at a time: their powers are independent chains,
        // so they overlap in the pipeline, while each mode's sums still take the groups in
        // particle order (the same additions, in the same order, as one group at a time).
        // Plain loops and functions rather than closures: a closure is compiled outside the
        // caller's `target_feature` context, where each lane operation would be a call.
        let block = GROUPS * WIDTH;
        let whole = n / block * block;
        let zero = L::splat(0.0);
        for first in (0..whole).step_by(block) {
            let mut points = [(zero, zero); GROUPS];
            let mut powers = [(zero, zero); GROUPS];
            for g in 0..GROUPS {
                let (x, y, m) = load_xym::<L>(self.positions, self.masses, first + g * WIDTH);
                points[g] = (x, y);
                powers[g] = (m, zero);
            }
            for k in 0..=self.modes {
                for g in 0..GROUPS {
                    let (power_re, power_im) = powers[g];
                    real[k] = real[k].add(power_re);
                    imaginary[k] = imaginary[k].add(power_im);
                    powers[g] = complex_mul(power_re, power_im, points[g].0, points[g].1);
                }
            }
        }
        for first in (whole..n).step_by(WIDTH) {
            let (x, y, m) = load_xym::<L>(self.positions, self.masses, first);
            let (mut power_re, mut power_im) = (m, L::splat(0.0));
            for k in 0..=self.modes {
                real[k] = real[k].add(power_re);
                imaginary[k] = imaginary[k].add(power_im);
                (power_re, power_im) = complex_mul(power_re, power_im, x, y);
            }
        }
        real.iter()
            .zip(&imaginary)
            .flat_map(|(re, im)| [re.sum(), im.sum()])
            .collect()
    }
}

/// Per-mode factors of the evaluation: for `k >= 1`, `a_k (re, im)` and `b_k (re, im)` with
/// `T_i = Σ_k Im(z^k) a_k^re - Re(z^k) a_k^im` and `Z_i = b_0 + Σ_k Re(z^k) b_k^re + Im(z^k) b_k^im`.
struct EvaluateTask<'a> {
    positions: &'a [f64],
    /// `[a_re, a_im, b_re, b_im]` for `k = 1..=K`.
    factors: &'a [[f64; 4]],
    weight_constant: f64,
    tangents: &'a mut [f64],
    weights: &'a mut [f64],
}

impl LaneTask for EvaluateTask<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self) {
        let n = self.tangents.len();
        // `GROUPS` groups of particles at a time, each with its own sums in the order of one
        // group at a time (the same bits): independent chains that overlap in the pipeline.
        let block = GROUPS * WIDTH;
        let whole = n / block * block;
        for first in (0..whole).step_by(block) {
            let mut points = [(L::splat(0.0), L::splat(0.0)); GROUPS];
            for (g, point) in points.iter_mut().enumerate() {
                *point = load_xy::<L>(self.positions, first + g * WIDTH);
            }
            let mut powers = points;
            let mut tangent = [L::splat(0.0); GROUPS];
            let mut weight = [L::splat(self.weight_constant); GROUPS];
            for factor in self.factors {
                let (a_re, a_im) = (L::splat(factor[0]), L::splat(factor[1]));
                let (b_re, b_im) = (L::splat(factor[2]), L::splat(factor[3]));
                let minus_a_im = L::splat(0.0).sub(a_im);
                for g in 0..GROUPS {
                    let (power_re, power_im) = powers[g];
                    tangent[g] = power_im.mul_add(a_re, tangent[g]);
                    tangent[g] = power_re.mul_add(minus_a_im, tangent[g]);
                    weight[g] = power_re.mul_add(b_re, weight[g]);
                    weight[g] = power_im.mul_add(b_im, weight[g]);
                    powers[g] = complex_mul(power_re, power_im, points[g].0, points[g].1);
                }
            }
            for g in 0..GROUPS {
                let at = first + g * WIDTH;
                tangent[g].store(&mut self.tangents[at..at + WIDTH]);
                weight[g].store(&mut self.weights[at..at + WIDTH]);
            }
        }
        for first in (whole..n).step_by(WIDTH) {
            let (x, y) = load_xy::<L>(self.positions, first);
            let (mut power_re, mut power_im) = (x, y);
            let mut tangent = L::splat(0.0);
            let mut weight = L::splat(self.weight_constant);
            for factor in self.factors {
                let (a_re, a_im) = (L::splat(factor[0]), L::splat(factor[1]));
                let (b_re, b_im) = (L::splat(factor[2]), L::splat(factor[3]));
                tangent = power_im.mul_add(a_re, tangent);
                tangent = power_re.mul_add(L::splat(0.0).sub(a_im), tangent);
                weight = power_re.mul_add(b_re, weight);
                weight = power_im.mul_add(b_im, weight);
                (power_re, power_im) = complex_mul(power_re, power_im, x, y);
            }
            let (mut t, mut w) = ([0.0; WIDTH], [0.0; WIDTH]);
            tangent.store(&mut t);
            weight.store(&mut w);
            let count = WIDTH.min(n - first);
            self.tangents[first..first + count].copy_from_slice(&t[..count]);
            self.weights[first..first + count].copy_from_slice(&w[..count]);
        }
    }
}

/// The moments `M_k`, `k = 0..=modes`, as `(re, im)` pairs, summed chunk by chunk in order.
fn moments(
    backend: Backend,
    positions: &[f64],
    masses: &[f64],
    modes: usize,
    par: Par,
) -> Vec<f64> {
    let chunk = |(positions, masses): (&[f64], &[f64])| {
        run_on(
            backend,
            MomentsTask {
                positions,
                masses,
                modes,
            },
        )
    };
    let partials: Vec<Vec<f64>> = match par {
        Par::Seq => positions
            .chunks(2 * CHUNK)
            .zip(masses.chunks(CHUNK))
            .map(chunk)
            .collect(),
        Par::Rayon => positions
            .par_chunks(2 * CHUNK)
            .zip(masses.par_chunks(CHUNK))
            .map(chunk)
            .collect(),
    };
    let mut total = vec![0.0; 2 * (modes + 1)];
    for partial in &partials {
        for (t, p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total
}

/// One chunk's positions and outputs (tangential sums, weight sums).
type ChunkIo<'a> = (&'a [f64], (&'a mut [f64], &'a mut [f64]));

/// Per-particle pair sums on S^1.
pub(crate) struct PairSums {
    /// `T_i`: the tangential part of `Σ_j m_j w_ij x_j` is `T_i t_i`, with
    /// `t_i = (-sin θ_i, cos θ_i) = (-x_i[1], x_i[0])`.
    pub tangents: Vec<f64>,
    /// `Σ_j m_j w_ij`.
    pub weights: Vec<f64>,
}

/// The spectral pair sums with a bound on their rounding and truncation error.
pub(crate) struct SpectralSums {
    /// `T_i t_i` (row-major `n × 2`) and `Z_i`.
    pub sums: PairSums,
    /// A bound on the absolute error of every `T_i` and `Z_i`.
    pub error_bound: f64,
}

/// The moments `M_k = Σ_j m_j z_j^k`, `k = 0..=K`, of a state on S^1 for a plan.
pub(crate) struct Moments {
    /// `(re, im)` pairs.
    values: Vec<f64>,
}

impl Moments {
    /// Sums the moments chunk by chunk, in chunk order.
    pub(crate) fn new(
        backend: Backend,
        plan: &SpectralPlan,
        positions: &[f64],
        masses: &[f64],
        par: Par,
    ) -> Moments {
        Moments {
            values: moments(backend, positions, masses, plan.modes(), par),
        }
    }

    /// `M_k` as `(re, im)`.
    fn get(&self, k: usize) -> (f64, f64) {
        (self.values[2 * k], self.values[2 * k + 1])
    }

    /// `Σ_i Σ_j m_i m_j w_ij = c_0 M_0² + 2 Σ_{k>=1} c_k |M_k|²` (times `scale`: 1 for the
    /// shifted kernel, `e^β` for the paper kernel).
    pub(crate) fn pair_energy(&self, plan: &SpectralPlan, scale: f64) -> f64 {
        let c = &plan.coefficients;
        let mut total = c[0] * self.values[0] * self.values[0];
        for k in 1..=plan.modes() {
            let (re, im) = self.get(k);
            total += 2.0 * c[k] * (re * re + im * im);
        }
        total * scale
    }

    /// The pair sums of every particle of `positions` (the state the moments were taken of):
    /// `T_i` (`T_i t_i` stands for `Σ_j m_j w_ij x_j`: its tangential part, the only one the
    /// field keeps) and `Z_i`, times `scale`.
    pub(crate) fn pair_sums(
        &self,
        backend: Backend,
        plan: &SpectralPlan,
        scale: f64,
        positions: &[f64],
        par: Par,
    ) -> SpectralSums {
        let c = &plan.coefficients;
        let mut error_bound = TRUNCATION_TOL;
        let factors: Vec<[f64; 4]> = (1..=plan.modes())
            .map(|k| {
                let (re, im) = self.get(k);
                let a = -(2.0 * k as f64 / plan.beta) * c[k] * scale;
                let b = 2.0 * c[k] * scale;
                // Each term's rounding, with the error of z^k growing like k ε.
                error_bound += (a.abs() + b) * re.hypot(im) * (k + 4) as f64 * f64::EPSILON;
                [a * re, a * im, b * re, b * im]
            })
            .collect();
        let n = positions.len() / 2;
        let mut tangents = vec![0.0; n];
        let mut weights = vec![0.0; n];
        let weight_constant = c[0] * scale * self.values[0];
        error_bound += 2.0 * weight_constant * f64::EPSILON;
        let evaluate = |(positions, (tangents, weights)): ChunkIo<'_>| {
            run_on(
                backend,
                EvaluateTask {
                    positions,
                    factors: &factors,
                    weight_constant,
                    tangents,
                    weights,
                },
            )
        };
        match par {
            Par::Seq => positions
                .chunks(2 * CHUNK)
                .zip(tangents.chunks_mut(CHUNK).zip(weights.chunks_mut(CHUNK)))
                .for_each(evaluate),
            Par::Rayon => positions
                .par_chunks(2 * CHUNK)
                .zip(
                    tangents
                        .par_chunks_mut(CHUNK)
                        .zip(weights.par_chunks_mut(CHUNK)),
                )
                .for_each(evaluate),
        }
        SpectralSums {
            sums: PairSums { tangents, weights },
            error_bound,
        }
    }
}

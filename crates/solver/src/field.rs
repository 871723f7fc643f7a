//! The velocity field `F_i = A_i + u(x_i)` (MODEL.md §2–4) and the energy.
//!
//! The attention part needs, for every particle `i`, the pair sums `S_i = Σ_j m_j w_ij x_j` and
//! `Z_i = Σ_j m_j w_ij`; the field is then `P_{x_i}(S_i + ambient drift)` (USA) or
//! `P_{x_i}(S_i / Z_i + ambient drift)` (SA), one projection per particle. The sums come from
//! one of the paths of [`crate::kernel`]: the tiled SIMD direct kernel (default), the spectral
//! kernel on S^1 (chosen by `integrator.pair_kernel`, `auto` by cost), or the plain scalar loop
//! (for comparisons). None forms the `n × n` weight matrix, and none depends on how the work is
//! split across threads.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kernel::direct::{self, Weight};
use crate::kernel::spectral::{Moments, PairSums, SpectralPlan, SpectralSums};
use crate::kernel::{Backend, FieldPath};
use crate::par::Par;
use crate::params::{Attention, Kernel, PairKernel, Regime};
use crate::perceptron::Perceptron;
use crate::sphere::{dot, norm, project_tangent, project_tangent_fixed};

/// Rows per rayon task: large enough to amortize scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 64;

/// The accuracy the spectral field keeps, `SPECTRAL_ABS_TOL + SPECTRAL_REL_TOL · max_i |F_i|`:
/// SA rows whose error bound `2 δ / Z_i` exceeds it are recomputed directly.
const SPECTRAL_ABS_TOL: f64 = 1e-13;
/// See [`SPECTRAL_ABS_TOL`].
const SPECTRAL_REL_TOL: f64 = 1e-10;

/// Cost of one spectral mode per particle relative to one direct weight (measured: moments plus
/// evaluation against a symmetric tiled weight, both on AVX2).
const SPECTRAL_MODE_COST: f64 = 1.0;

/// What the field needs to know about the model, beyond the particles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dynamics {
    /// Ambient dimension.
    pub dim: usize,
    /// Inverse temperature.
    pub beta: f64,
    /// Weight convention.
    pub kernel: Kernel,
    /// USA or SA.
    pub attention: Attention,
    /// Ascent (`+F`) or descent (`-F`).
    pub regime: Regime,
    /// The perceptron (possibly off).
    pub perceptron: Perceptron,
    /// How the pair sums are computed.
    #[serde(default)]
    pub pair_kernel: PairKernel,
}

/// The cost of one pair pass over `n` particles, in pair weights, and whether it is spectral:
/// `n² / 2` direct, `n (K + 1)` spectral (S^1 only, `K` the modes kept at `beta`), the cheaper
/// under `auto` ([`Dynamics::field_path`] takes the same decision).
fn pair_pass(dim: usize, n: usize, beta: f64, pair_kernel: PairKernel) -> (f64, bool) {
    let direct = 0.5 * (n as f64) * (n as f64);
    let spectral = || SPECTRAL_MODE_COST * (n * (SpectralPlan::cached(beta).modes() + 1)) as f64;
    match (pair_kernel, dim) {
        (_, dim) if dim != 2 => (direct, false),
        (PairKernel::Direct, _) => (direct, false),
        (PairKernel::Spectral, _) => (spectral(), true),
        (PairKernel::Auto, _) => {
            let spectral = spectral();
            if spectral <= direct {
                (spectral, true)
            } else {
                (direct, false)
            }
        }
    }
}

/// The cost of one step's pair pass for `n` particles (pair weights computed: `n² / 2`
/// direct, `n (K + 1)` spectral), the unit in which progress displays estimate what a task has
/// left. Atoms that merge make a run cheaper than this says.
pub fn pair_pass_cost(dim: usize, n: usize, beta: f64, pair_kernel: PairKernel) -> f64 {
    if !(beta.is_finite() && beta > 0.0) {
        return 0.5 * (n as f64) * (n as f64);
    }
    pair_pass(dim, n, beta, pair_kernel).0
}

impl Dynamics {
    /// The attention weight at inner product `s = <x_i, x_j>`.
    #[inline]
    pub fn weight(&self, s: f64) -> f64 {
        self.weight_exponent(s).exp()
    }

    /// The exponent `t` of the attention weight `e^t` at inner product `s`: `β(s − 1)` or `βs`.
    #[inline]
    pub fn weight_exponent(&self, s: f64) -> f64 {
        match self.kernel {
            Kernel::Shifted => self.beta * (s - 1.0),
            Kernel::Paper => self.beta * s,
        }
    }

    /// The sign of the dynamics: +1 for ascent, -1 for descent.
    pub fn sign(&self) -> f64 {
        match self.regime {
            Regime::Ascent => 1.0,
            Regime::Descent => -1.0,
        }
    }

    /// Whether this is pure attention in descent (no perceptron, or one whose weights are all
    /// 0): its states spread rather than cluster ([`crate::run::spreads`], from the dynamics
    /// alone).
    pub fn spreads(&self) -> bool {
        self.regime == Regime::Descent && self.perceptron.is_off()
    }

    /// The factor turning shifted-kernel sums into this kernel's: 1, or `e^β` for `paper`.
    fn kernel_scale(&self) -> f64 {
        match self.kernel {
            Kernel::Shifted => 1.0,
            Kernel::Paper => self.beta.exp(),
        }
    }

    /// The path `velocity` and `energy` take for `n` particles: spectral on S^1 when forced or,
    /// under `auto`, when `n K` modes cost less than `n² / 2` weights; else direct, on the best
    /// backend of this CPU.
    pub fn field_path(&self, n: usize) -> FieldPath {
        let backend = Backend::detect();
        if pair_pass(self.dim, n, self.beta, self.pair_kernel).1 {
            FieldPath::Spectral(backend)
        } else {
            FieldPath::Direct(backend)
        }
    }

    /// Writes the signed velocity `±F_i` of every particle into `out` (`n × d`).
    pub fn velocity(&self, positions: &[f64], masses: &[f64], out: &mut [f64], par: Par) {
        let path = self.field_path(masses.len());
        self.velocity_via(path, positions, masses, out, par);
    }

    /// `velocity` through a chosen path (paths that do not apply fall back: `Spectral` off S^1
    /// to `Direct`, `Direct` past 64 dimensions to `Scalar`).
    pub fn velocity_via(
        &self,
        path: FieldPath,
        positions: &[f64],
        masses: &[f64],
        out: &mut [f64],
        par: Par,
    ) {
        let dim = self.dim;
        debug_assert_eq!(positions.len(), masses.len() * dim);
        debug_assert_eq!(out.len(), positions.len());
        match self.resolve(path) {
            FieldPath::Scalar => {
                for_each_row(out, dim, par, |i, out_row| {
                    let weight_sum = self.row_sums(positions, masses, i, out_row);
                    self.finish_row(&positions[i * dim..(i + 1) * dim], weight_sum, out_row);
                });
            }
            FieldPath::Direct(backend) => {
                // Each row is finished as soon as its tile's sums are complete, in the same
                // parallel pass.
                let finish = |i: usize, weight_sum: f64, row: &mut [f64]| {
                    self.finish_row(&positions[i * dim..(i + 1) * dim], weight_sum, row);
                };
                let rows = direct::Rows::Vectors {
                    out,
                    // Only SA divides by `Z_i`.
                    weights: self.attention == Attention::Sa,
                    finish: &finish,
                };
                self.direct_sums(backend, positions, masses, rows, par);
            }
            FieldPath::Spectral(backend) => {
                let plan = SpectralPlan::cached(self.beta);
                let moments = Moments::new(backend, &plan, positions, masses, par);
                let result = moments.pair_sums(backend, &plan, self.kernel_scale(), positions, par);
                self.finish_rows(positions, &result.sums, out, par);
                if self.attention == Attention::Sa {
                    self.redo_ill_conditioned_rows(positions, masses, &result, out, par);
                }
            }
        }
    }

    /// Writes `±F_i` of every particle on S^1 from its spectral pair sums.
    fn finish_rows(&self, positions: &[f64], sums: &PairSums, out: &mut [f64], par: Par) {
        for_each_row(out, 2, par, |i, out_row| {
            let (x, t) = (&positions[2 * i..2 * i + 2], sums.tangents[i]);
            out_row[0] = -t * x[1];
            out_row[1] = t * x[0];
            self.finish_row(x, sums.weights[i], out_row);
        });
    }

    /// Recomputes directly the SA rows whose spectral error bound `2 δ / Z_i` (the errors of
    /// `T_i` and `Z_i` amplified by the division) exceeds the accuracy target, relative to the
    /// largest drift of the provisional field `out`.
    fn redo_ill_conditioned_rows(
        &self,
        positions: &[f64],
        masses: &[f64],
        spectral: &SpectralSums,
        out: &mut [f64],
        par: Par,
    ) {
        let dim = self.dim;
        let largest = out.chunks_exact(dim).map(norm).fold(0.0, f64::max);
        let target = SPECTRAL_ABS_TOL + SPECTRAL_REL_TOL * largest;
        let weights = &spectral.sums.weights;
        let rows: Vec<usize> = (0..masses.len())
            .filter(|&i| 2.0 * spectral.error_bound > target * weights[i])
            .collect();
        let redo = |&i: &usize| {
            let mut row = vec![0.0; dim];
            let weight_sum = self.row_sums(positions, masses, i, &mut row);
            self.finish_row(&positions[i * dim..(i + 1) * dim], weight_sum, &mut row);
            row
        };
        let redone: Vec<Vec<f64>> = match par {
            Par::Seq => rows.iter().map(redo).collect(),
            Par::Rayon => rows.par_iter().map(redo).collect(),
        };
        for (&i, row) in rows.iter().zip(redone) {
            out[i * dim..(i + 1) * dim].copy_from_slice(&row);
        }
    }

    /// The path that `path` means for this dimension.
    fn resolve(&self, path: FieldPath) -> FieldPath {
        match path {
            FieldPath::Spectral(backend) if self.dim != 2 => FieldPath::Direct(backend),
            FieldPath::Direct(_) if self.dim > direct::MAX_DIM => FieldPath::Scalar,
            other => other,
        }
    }

    /// The direct kernel's pair sums, handed to `rows`.
    fn direct_sums(
        &self,
        backend: Backend,
        positions: &[f64],
        masses: &[f64],
        rows: direct::Rows<'_>,
        par: Par,
    ) {
        let weight = self.direct_weight();
        direct::pair_sums(backend, weight, self.dim, positions, masses, rows, par);
    }

    fn direct_weight(&self) -> Weight {
        Weight {
            beta: self.beta,
            offset: match self.kernel {
                Kernel::Shifted => -self.beta,
                Kernel::Paper => 0.0,
            },
        }
    }

    /// Writes `S_i = Σ_j m_j w_ij x_j` into `out` and returns `Z_i = Σ_j m_j w_ij`, in index
    /// order, one weight at a time (the scalar path).
    fn row_sums(&self, positions: &[f64], masses: &[f64], i: usize, out: &mut [f64]) -> f64 {
        let dim = self.dim;
        let xi = &positions[i * dim..(i + 1) * dim];
        out.fill(0.0);
        let mut weight_sum = 0.0;
        for (xj, &mj) in positions.chunks_exact(dim).zip(masses) {
            let w = mj * self.weight(dot(xi, xj));
            weight_sum += w;
            for (o, &xjk) in out.iter_mut().zip(xj) {
                *o += w * xjk;
            }
        }
        weight_sum
    }

    /// Turns the pair sums of particle `x` (`S` in `out`, `Z`) into `±F`.
    #[inline]
    fn finish_row(&self, x: &[f64], weight_sum: f64, out: &mut [f64]) {
        // S^1 and S^2 unrolled: the same operations in the same order.
        match self.dim {
            2 => self.finish_row_fixed::<2>(as_array(x), weight_sum, as_array_mut(out)),
            3 => self.finish_row_fixed::<3>(as_array(x), weight_sum, as_array_mut(out)),
            _ => self.finish_row_any(x, weight_sum, out),
        }
    }

    /// [`Self::finish_row`] in a dimension known at compile time.
    #[inline(always)]
    fn finish_row_fixed<const D: usize>(&self, x: &[f64; D], weight_sum: f64, out: &mut [f64; D]) {
        if self.attention == Attention::Sa {
            let inverse = 1.0 / weight_sum;
            for o in out.iter_mut() {
                *o *= inverse;
            }
        }
        self.perceptron.add_ambient_drift_fixed(x, out);
        project_tangent_fixed(x, out);
        let sign = self.sign();
        for o in out.iter_mut() {
            *o *= sign;
        }
    }

    /// [`Self::finish_row`] in any dimension.
    #[inline]
    fn finish_row_any(&self, x: &[f64], weight_sum: f64, out: &mut [f64]) {
        if self.attention == Attention::Sa {
            let inverse = 1.0 / weight_sum;
            out.iter_mut().for_each(|o| *o *= inverse);
        }
        self.perceptron.add_ambient_drift(x, out);
        project_tangent(x, out);
        let sign = self.sign();
        out.iter_mut().for_each(|o| *o *= sign);
    }

    /// The energy `E = (1/(2β)) Σ_i Σ_j m_i m_j w_ij + ½ Σ_i m_i v(x_i)` (MODEL.md §4), summed
    /// in a fixed order, through the same path as `velocity`.
    pub fn energy(&self, positions: &[f64], masses: &[f64], par: Par) -> f64 {
        self.energy_via(self.field_path(masses.len()), positions, masses, par)
    }

    /// `energy` through a chosen path (with the fallbacks of `velocity_via`).
    pub fn energy_via(&self, path: FieldPath, positions: &[f64], masses: &[f64], par: Par) -> f64 {
        let dim = self.dim;
        let n = masses.len();
        let potential = |i: usize| {
            0.5 * self
                .perceptron
                .potential(&positions[i * dim..(i + 1) * dim])
        };
        let weights = match self.resolve(path) {
            FieldPath::Scalar => {
                let row = |i: usize| {
                    let xi = &positions[i * dim..(i + 1) * dim];
                    positions
                        .chunks_exact(dim)
                        .zip(masses)
                        .map(|(xj, &mj)| mj * self.weight(dot(xi, xj)))
                        .sum::<f64>()
                };
                match par {
                    Par::Seq => (0..n).map(row).collect(),
                    Par::Rayon => (0..n).into_par_iter().map(row).collect(),
                }
            }
            FieldPath::Direct(backend) => {
                let mut weights = vec![0.0; n];
                let rows = direct::Rows::Weights { out: &mut weights };
                self.direct_sums(backend, positions, masses, rows, par);
                weights
            }
            FieldPath::Spectral(backend) => {
                let plan = SpectralPlan::cached(self.beta);
                let moments = Moments::new(backend, &plan, positions, masses, par);
                let pair = moments.pair_energy(&plan, self.kernel_scale());
                let perceptron: f64 = (0..n).map(|i| masses[i] * potential(i)).sum();
                return pair / (2.0 * self.beta) + perceptron;
            }
        };
        self.energy_from_weights(positions, masses, &weights, par)
    }

    /// The energy from each particle's weight sum `Z_i = Σ_j m_j w_ij`, summed in a fixed
    /// order.
    fn energy_from_weights(
        &self,
        positions: &[f64],
        masses: &[f64],
        weights: &[f64],
        par: Par,
    ) -> f64 {
        let dim = self.dim;
        let n = masses.len();
        let term = |i: usize| {
            let potential = 0.5
                * self
                    .perceptron
                    .potential(&positions[i * dim..(i + 1) * dim]);
            masses[i] * (weights[i] / (2.0 * self.beta) + potential)
        };
        let terms: Vec<f64> = match par {
            Par::Seq => (0..n).map(term).collect(),
            Par::Rayon => (0..n).into_par_iter().map(term).collect(),
        };
        terms.iter().sum()
    }

    /// [`velocity`](Self::velocity) and [`energy`](Self::energy) at one state, equal to calling
    /// both; on the direct path from one pair pass, each row's weight sum `Z_i` taken with its
    /// vector sum (the checks of the stopping rule need both, and the energy's own pass costs
    /// as much as a step).
    pub fn velocity_and_energy(
        &self,
        positions: &[f64],
        masses: &[f64],
        out: &mut [f64],
        par: Par,
    ) -> f64 {
        let path = self.resolve(self.field_path(masses.len()));
        let FieldPath::Direct(backend) = path else {
            self.velocity_via(path, positions, masses, out, par);
            return self.energy_via(path, positions, masses, par);
        };
        let dim = self.dim;
        let sums: Vec<AtomicU64> = (0..masses.len()).map(|_| AtomicU64::new(0)).collect();
        let finish = |i: usize, weight_sum: f64, row: &mut [f64]| {
            sums[i].store(weight_sum.to_bits(), Ordering::Relaxed);
            self.finish_row(&positions[i * dim..(i + 1) * dim], weight_sum, row);
        };
        let rows = direct::Rows::Vectors {
            out,
            weights: true,
            finish: &finish,
        };
        self.direct_sums(backend, positions, masses, rows, par);
        let weights: Vec<f64> = sums
            .into_iter()
            .map(|sum| f64::from_bits(sum.into_inner()))
            .collect();
        self.energy_from_weights(positions, masses, &weights, par)
    }
}

/// `values` as an array of its length `D` (the caller's dimension).
#[inline(always)]
pub(crate) fn as_array<const D: usize>(values: &[f64]) -> &[f64; D] {
    values.try_into().expect("a row of the dimension")
}

/// `values` as a mutable array of its length `D` (the caller's dimension).
#[inline(always)]
pub(crate) fn as_array_mut<const D: usize>(values: &mut [f64]) -> &mut [f64; D] {
    values.try_into().expect("a row of the dimension")
}

/// Calls `row(i, out_row)` for every row of `out` (`dim` values each), in tasks of
/// `ROWS_PER_TASK` rows.
fn for_each_row(out: &mut [f64], dim: usize, par: Par, row: impl Fn(usize, &mut [f64]) + Sync) {
    let rows = |(block, out_block): (usize, &mut [f64])| {
        let first = block * ROWS_PER_TASK;
        for (offset, out_row) in out_block.chunks_exact_mut(dim).enumerate() {
            row(first + offset, out_row);
        }
    };
    match par {
        Par::Seq => out
            .chunks_mut(ROWS_PER_TASK * dim)
            .enumerate()
            .for_each(rows),
        Par::Rayon => out
            .par_chunks_mut(ROWS_PER_TASK * dim)
            .enumerate()
            .for_each(rows),
    }
}

//! The velocity field `F_i = A_i + u(x_i)` (MODEL.md §2–4) and the energy.
//!
//! The pair kernel is fused: for each particle `i` it accumulates `Σ_j m_j w_ij x_j` and
//! `Σ_j m_j w_ij` in one pass over `j`, never forming the `n × n` weight matrix, then projects
//! once. Rows are independent and each row is summed in index order, so the result does not
//! depend on how rows are split across threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::params::{Attention, Kernel, Regime};
use crate::perceptron::Perceptron;
use crate::sphere::{dot, project_tangent};

/// Rows per rayon task: large enough to amortize scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 64;

/// How a kernel may use threads. Results are the same bits whichever is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Par {
    /// The calling thread only.
    Seq,
    /// The current rayon pool.
    #[default]
    Rayon,
}

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
}

impl Dynamics {
    /// The attention weight at inner product `s = <x_i, x_j>`.
    #[inline]
    pub fn weight(&self, s: f64) -> f64 {
        match self.kernel {
            Kernel::Shifted => (self.beta * (s - 1.0)).exp(),
            Kernel::Paper => (self.beta * s).exp(),
        }
    }

    /// The sign of the dynamics: +1 for ascent, -1 for descent.
    pub fn sign(&self) -> f64 {
        match self.regime {
            Regime::Ascent => 1.0,
            Regime::Descent => -1.0,
        }
    }

    /// Writes the signed velocity `±F_i` of every particle into `out` (`n × d`).
    pub fn velocity(&self, positions: &[f64], masses: &[f64], out: &mut [f64], par: Par) {
        let dim = self.dim;
        debug_assert_eq!(positions.len(), masses.len() * dim);
        debug_assert_eq!(out.len(), positions.len());
        let rows = |(block, out_block): (usize, &mut [f64])| {
            let first = block * ROWS_PER_TASK;
            for (offset, out_row) in out_block.chunks_exact_mut(dim).enumerate() {
                self.velocity_row(positions, masses, first + offset, out_row);
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

    /// `±F_i` for one particle.
    #[inline]
    fn velocity_row(&self, positions: &[f64], masses: &[f64], i: usize, out: &mut [f64]) {
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
        if self.attention == Attention::Sa {
            let inverse = 1.0 / weight_sum;
            out.iter_mut().for_each(|o| *o *= inverse);
        }
        self.perceptron.add_ambient_drift(xi, out);
        project_tangent(xi, out);
        let sign = self.sign();
        out.iter_mut().for_each(|o| *o *= sign);
    }

    /// The energy `E = (1/(2β)) Σ_i Σ_j m_i m_j w_ij + ½ Σ_i m_i v(x_i)` (MODEL.md §4), summed
    /// in a fixed order.
    pub fn energy(&self, positions: &[f64], masses: &[f64], par: Par) -> f64 {
        let dim = self.dim;
        let row = |i: usize| {
            let xi = &positions[i * dim..(i + 1) * dim];
            let pair: f64 = positions
                .chunks_exact(dim)
                .zip(masses)
                .map(|(xj, &mj)| mj * self.weight(dot(xi, xj)))
                .sum();
            masses[i] * (pair / (2.0 * self.beta) + 0.5 * self.perceptron.potential(xi))
        };
        let terms: Vec<f64> = match par {
            Par::Seq => (0..masses.len()).map(row).collect(),
            Par::Rayon => (0..masses.len()).into_par_iter().map(row).collect(),
        };
        terms.iter().sum()
    }
}

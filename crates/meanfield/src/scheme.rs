//! The finite-volume scheme for `∂_t ρ + ∂_θ(ρ V) = 0` on `M` cells of S^1 (MODEL.md §10).
//!
//! Cell `i` is `[i h, (i + 1) h)`, `h = 2π / M`; face `f` is the angle `f h`, between cells
//! `f - 1` (left, modulo `M`) and `f`. The unknowns are the cell averages `ρ_i` of the density
//! per radian, so the masses are `m_i = h ρ_i`.
//!
//! **Velocity.** The energy `E[ρ] = ½ ∫∫ W ρ ρ + ½ ∫ v ρ` is discretized exactly for a piecewise
//! constant `ρ`: `E_h = ½ Σ_ij m_i m_j K_{i-j} + ½ Σ_i m_i v_i`, with `K_m` the average of `W`
//! over a pair of cells `m` apart and `v_i` the cell average of `v` (Gauss–Legendre). Its
//! discrete first variation `Φ_i = Σ_j K_{i-j} m_j + ½ v_i` gives the face velocity
//! `V_f = s (Φ_f - Φ_{f-1}) / h`, a second-order approximation of `s(∂_θ(W * ρ) + ½ v')`
//! (the scheme of Carrillo, Chertock and Huang, 2015). With it, for USA, the semi-discrete
//! scheme has `dE_h/dt = Σ_f F_f (Φ_f - Φ_{f-1}) = s h Σ_f ρ_face V_f²`, `>= 0` in ascent and
//! `<= 0` in descent because the upwind face density is non-negative: the discrete energy is
//! monotone, not just close to it (for SA it is too without a perceptron, with a factor `Z_f`).
//! For SA the attention part of `V_f` is divided by `Z_f = ∫ w(θ_f - φ) ρ(φ) dφ` (exact for the
//! piecewise constant `ρ`), both in the same kernel, so the kernel's scale cancels. Its
//! magnitude is at most 1 in the continuum (`|∫ sin · w ρ| <= ∫ w ρ`), and it is clamped to
//! `[-1, 1]` where `Z_f` is below the FFT's round-off (only where `ρ` is itself negligible).
//!
//! **Convolutions** by real FFTs of size `M`: the spectra of `h K_m` and of the face-to-cell
//! integrals of `w` are computed once; each stage costs one forward and one (SA: two) inverse
//! transforms.
//!
//! **Flux.** MUSCL: limited slopes, face values `ρ_{f-1} + ½ d_{f-1}` and `ρ_f - ½ d_f`, the
//! upwind one by the sign of `V_f`. **Time**: SSP-RK3 (Shu–Osher), `dt = min(cfl h / max_f
//! |V_f|, cfl / (Λ ρ̄))` from the first stage. Each stage is a forward Euler step, positive for
//! `cfl <= 1/2` at the velocity it was stepped with, and the RK3 update is a convex combination
//! of them. The second bound is for USA: `Λ ρ̄` (`ρ̄` the mean density) is the largest rate of
//! the scheme linearized at the uniform state, `ρ̄ |s a| max_k λ_k 4 sin²(πk/M) / h²` (`λ_k` the
//! eigenvalues of the convolution by `h K`, `a` the attention factor), which tends to
//! `e^{-β} k² I_k(β)/β` maximized over `k` for the shifted kernel (`γ_k` of MODEL.md §7) and
//! `e^β` times that for `paper`. The velocity vanishes at the uniform state, so the transport
//! bound alone allows steps far beyond `1/(Λ ρ̄)` there; with the paper kernel at β = 10 (`Λ ρ̄`
//! about 2,000) they left the stability region of RK3 and the stages' velocities made a cell
//! negative. For the shifted kernel `Λ ρ̄` is below 0.3 for every β (a step of 1.7 or more at
//! `cfl = 1/2`), so the transport bound decides.

use std::f64::consts::TAU;
use std::sync::Arc;

use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use sphereflow_solver::{Attention, Par};

use crate::error::MeanFieldError;
use crate::params::{Limiter, MeanFieldParams, Model, MAX_CELLS, MIN_CELLS};
use sphereflow_solver::quadrature::GaussLegendre;

/// Gauss–Legendre nodes per half of a cell-pair average, and per cell for `v` and `Z`.
const NODES: usize = 8;

/// Cells per rayon task in the element-wise passes.
const CELLS_PER_TASK: usize = 2048;

/// The discretized equation on a fixed grid: kernel spectra, the perceptron's potential on the
/// cells, FFT plans. Immutable and shareable; the work buffers live in a [`Scratch`].
#[derive(Clone)]
pub struct MeanField {
    model: Model,
    cells: usize,
    h: f64,
    limiter: Limiter,
    /// Spectrum of `h K_m / M` (shifted kernel): `Φ^W = IFFT(this · FFT(ρ))`.
    potential_spectrum: Vec<Complex<f64>>,
    /// SA only: spectrum of `C_m / M`, `C_m = ∫_{(m-1)h}^{mh} w` (shifted), so that
    /// `Z = IFFT(this · FFT(ρ))` at the faces.
    normalizer_spectrum: Option<Vec<Complex<f64>>>,
    /// Cell averages of the perceptron potential `v`.
    potential: Vec<f64>,
    /// `s ½ (v_f - v_{f-1}) / h` at every face.
    drift: Vec<f64>,
    /// The factor in front of the attention part of `V_f`: `s e^β` for USA `paper`, else `s`.
    attention_factor: f64,
    /// USA: `|attention factor| max_k λ_k 4 sin²(πk/M) / h²` over the modes `k` left by the
    /// imposed symmetry, `λ_k` the eigenvalues of the convolution by `h K` on the grid: times the
    /// mean density, the largest rate of the scheme linearized at the uniform state (module doc,
    /// "Time"). 0 for SA.
    stiffness: f64,
    /// Imposed k-fold rotational symmetry (1: none), see [`MeanField::with_symmetry`].
    symmetry: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
}

impl std::fmt::Debug for MeanField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeanField")
            .field("model", &self.model)
            .field("cells", &self.cells)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// The work buffers of a [`MeanField`] (one per thread that steps).
#[derive(Debug, Clone)]
pub struct Scratch {
    real: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    product: Vec<Complex<f64>>,
    fft: Vec<Complex<f64>>,
    /// `Φ^W` (shifted kernel, without the factor) per cell, of the last stage evaluated.
    attention: Vec<f64>,
    normalizer: Vec<f64>,
    velocity: Vec<f64>,
    slopes: Vec<f64>,
    flux: Vec<f64>,
    rhs: Vec<f64>,
    stage: Vec<f64>,
    start: Vec<f64>,
}

/// What one SSP-RK3 step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// The step taken.
    pub dt: f64,
    /// `max_f |V_f|` at the start of the step.
    pub max_speed: f64,
    /// The discrete energy `E_h` at the start of the step.
    pub energy: f64,
}

impl MeanField {
    /// Precomputes the scheme for `model` on `params.cells` cells with `params.limiter`.
    ///
    /// # Errors
    /// `InvalidParameter` if the model or the number of cells is invalid.
    pub fn new(model: &Model, params: &MeanFieldParams) -> Result<MeanField, MeanFieldError> {
        model.validate()?;
        Self::with_cells(model, params.cells, params.limiter)
    }

    /// As [`MeanField::new`] from the number of cells and the limiter alone.
    ///
    /// # Errors
    /// `InvalidParameter` (`meanfield.cells`) outside `[8, 2^26]`, or for an invalid model.
    pub fn with_cells(
        model: &Model,
        cells: usize,
        limiter: Limiter,
    ) -> Result<MeanField, MeanFieldError> {
        model.validate()?;
        if !(MIN_CELLS..=MAX_CELLS).contains(&cells) {
            return Err(MeanFieldError::InvalidParameter {
                key: "meanfield.cells",
                reason: format!("must be in [{MIN_CELLS}, {MAX_CELLS}], got {cells}"),
            });
        }
        let h = TAU / cells as f64;
        let beta = model.beta;
        let rule = GaussLegendre::new(NODES);
        let shifted = |alpha: f64| (beta * (alpha.cos() - 1.0)).exp();
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(cells);
        let inverse = planner.plan_fft_inverse(cells);
        let mut fft =
            vec![Complex::default(); forward.get_scratch_len().max(inverse.get_scratch_len())];
        let mut transform = |mut values: Vec<f64>| {
            let mut spectrum = forward.make_output_vec();
            forward
                .process_with_scratch(&mut values, &mut spectrum, &mut fft)
                .expect("buffer lengths fixed at construction");
            let norm = 1.0 / cells as f64;
            spectrum.iter_mut().for_each(|c| *c *= norm);
            spectrum
        };
        // h K_m, K_m = ∫_{-1}^{1} (1 - |u|) W((m + u) h) du with W = w / β (shifted).
        let pair_average: Vec<f64> = (0..cells)
            .map(|m| {
                let m = m as f64;
                let weight = |u: f64| (1.0 - u.abs()) * shifted((m + u) * h) / beta;
                h * (rule.integrate(-1.0, 0.0, weight) + rule.integrate(0.0, 1.0, weight))
            })
            .collect();
        let potential_spectrum = transform(pair_average);
        let normalizer_spectrum = (model.attention == Attention::Sa).then(|| {
            let face_integrals: Vec<f64> = (0..cells)
                .map(|m| {
                    let m = m as f64;
                    rule.integrate((m - 1.0) * h, m * h, shifted)
                })
                .collect();
            transform(face_integrals)
        });
        let sign = model.sign();
        let perceptron = &model.perceptron;
        let potential: Vec<f64> = if perceptron.is_off() {
            vec![0.0; cells]
        } else {
            (0..cells)
                .map(|i| {
                    let (a, b) = (i as f64 * h, (i + 1) as f64 * h);
                    rule.integrate(a, b, |theta| {
                        perceptron.potential(&[theta.cos(), theta.sin()])
                    }) / h
                })
                .collect()
        };
        let drift = (0..cells)
            .map(|f| sign * 0.5 * (potential[f] - potential[(f + cells - 1) % cells]) / h)
            .collect();
        let attention_factor = match model.attention {
            Attention::Usa => sign * model.kernel_scale(),
            Attention::Sa => sign,
        };
        let mut scheme = MeanField {
            model: model.clone(),
            cells,
            h,
            limiter,
            potential_spectrum,
            normalizer_spectrum,
            potential,
            drift,
            attention_factor,
            stiffness: 0.0,
            symmetry: 1,
            forward,
            inverse,
        };
        scheme.stiffness = scheme.attention_stiffness();
        Ok(scheme)
    }

    /// The `stiffness` field for the current symmetry: `|attention factor|` times
    /// [`mode_stiffness`] over the modes left by it (USA), 0 for SA.
    fn attention_stiffness(&self) -> f64 {
        match self.model.attention {
            Attention::Usa => {
                self.attention_factor.abs()
                    * mode_stiffness(&self.potential_spectrum, self.cells, self.h, self.symmetry)
            }
            Attention::Sa => 0.0,
        }
    }

    /// The same scheme restricted to densities of period `2π / order`: every stage of every
    /// step is projected onto them (averaged over its `order` rotations by `M / order` cells).
    /// In exact arithmetic the projection does nothing to a symmetric state (the scheme is
    /// equivariant under rotations by whole cells, and pure attention has no preferred
    /// direction); in floating point it removes the round-off that would seed the modes of
    /// other periods, which grow far faster than a slow mode being measured.
    ///
    /// # Errors
    /// `InvalidParameter` (`meanfield.symmetry`) if `order` is 0 or does not divide the number
    /// of cells, or the perceptron is on (its potential has no such symmetry in general).
    pub fn with_symmetry(mut self, order: usize) -> Result<MeanField, MeanFieldError> {
        let refuse = |reason: String| MeanFieldError::InvalidParameter {
            key: "meanfield.symmetry",
            reason,
        };
        if order == 0 || !self.cells.is_multiple_of(order) {
            return Err(refuse(format!(
                "must divide the number of cells {}, got {order}",
                self.cells
            )));
        }
        if order > 1 && !self.model.perceptron.is_off() {
            return Err(refuse("needs the perceptron off".to_string()));
        }
        self.symmetry = order;
        // Only the modes that are multiples of the order are left to grow or decay.
        self.stiffness = self.attention_stiffness();
        Ok(self)
    }

    /// Projects `density` onto the densities of period `2π / symmetry` (using `buffer`).
    fn symmetrize(&self, density: &mut [f64], buffer: &mut [f64]) {
        let order = self.symmetry;
        if order <= 1 {
            return;
        }
        let period = self.cells / order;
        for (i, b) in buffer[..period].iter_mut().enumerate() {
            *b = (0..order).map(|r| density[i + r * period]).sum::<f64>() / order as f64;
        }
        for (i, d) in density.iter_mut().enumerate() {
            *d = buffer[i % period];
        }
    }

    /// Number of cells `M`.
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// Cell width `h = 2π / M`.
    pub fn cell_width(&self) -> f64 {
        self.h
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Angle of face `f` (the left end of cell `f`).
    pub fn face_angle(&self, f: usize) -> f64 {
        f as f64 * self.h
    }

    /// Angle of the centre of cell `i`.
    pub fn cell_centre(&self, i: usize) -> f64 {
        (i as f64 + 0.5) * self.h
    }

    /// Cell averages of the perceptron potential `v`.
    pub fn potential(&self) -> &[f64] {
        &self.potential
    }

    /// Fresh work buffers for this grid.
    pub fn scratch(&self) -> Scratch {
        let m = self.cells;
        let spectrum = self.forward.make_output_vec();
        Scratch {
            real: vec![0.0; m],
            product: spectrum.clone(),
            spectrum,
            fft: vec![
                Complex::default();
                self.forward
                    .get_scratch_len()
                    .max(self.inverse.get_scratch_len())
            ],
            attention: vec![0.0; m],
            normalizer: vec![0.0; m],
            velocity: vec![0.0; m],
            slopes: vec![0.0; m],
            flux: vec![0.0; m],
            rhs: vec![0.0; m],
            stage: vec![0.0; m],
            start: vec![0.0; m],
        }
    }

    /// `Φ^W` (shifted, no factor) of `density` into `scratch.attention`, and `Z_f` into
    /// `scratch.normalizer` for SA.
    fn convolve(&self, density: &[f64], scratch: &mut Scratch) {
        let Scratch {
            real,
            spectrum,
            product,
            fft,
            attention,
            normalizer,
            ..
        } = scratch;
        real.copy_from_slice(density);
        self.forward
            .process_with_scratch(real, spectrum, fft)
            .expect("buffer lengths fixed at construction");
        let mut apply = |kernel: &[Complex<f64>], out: &mut [f64]| {
            for ((p, s), k) in product.iter_mut().zip(spectrum.iter()).zip(kernel) {
                *p = s * k;
            }
            // The DC term (and Nyquist's for even M) of a real signal's spectrum is real.
            product[0].im = 0.0;
            if self.cells.is_multiple_of(2) {
                let last = product.len() - 1;
                product[last].im = 0.0;
            }
            self.inverse
                .process_with_scratch(product, out, fft)
                .expect("buffer lengths fixed at construction");
        };
        apply(&self.potential_spectrum, attention);
        if let Some(kernel) = &self.normalizer_spectrum {
            apply(kernel, normalizer);
        }
    }

    /// `Λ ρ̄`: the largest rate of the scheme linearized at the uniform state of mean density
    /// `mean_density` (module doc, "Time"); steps are at most `cfl` over it. 0 for SA.
    pub fn uniform_rate(&self, mean_density: f64) -> f64 {
        self.stiffness * mean_density
    }

    /// The face velocities `V_f` of `density` into `scratch.velocity`; returns `max_f |V_f|`.
    fn face_velocities(&self, density: &[f64], scratch: &mut Scratch, par: Par) -> f64 {
        self.convolve(density, scratch);
        let m = self.cells;
        let inverse_h = 1.0 / self.h;
        let factor = self.attention_factor;
        let attention = &scratch.attention;
        let normalizer = &scratch.normalizer;
        let sa = self.normalizer_spectrum.is_some();
        let drift = &self.drift;
        for_each_chunk(&mut scratch.velocity, par, |start, out| {
            for (offset, v) in out.iter_mut().enumerate() {
                let f = start + offset;
                let left = if f == 0 { m - 1 } else { f - 1 };
                let gradient = (attention[f] - attention[left]) * inverse_h;
                let attention_part = if sa {
                    (gradient / normalizer[f].max(f64::MIN_POSITIVE)).clamp(-1.0, 1.0)
                } else {
                    gradient
                };
                *v = factor * attention_part + drift[f];
            }
        });
        scratch
            .velocity
            .iter()
            .fold(0.0, |largest: f64, v| largest.max(v.abs()))
    }

    /// Writes the face velocities `V_f` (face `f` at angle `f h`) of `density` into `out`:
    /// `s(∂_θ(W * ρ) + ½ v')` to second order in `h` (SA: the attention part over `w * ρ`).
    ///
    /// # Panics
    /// If `density` or `out` does not have `M` values.
    pub fn velocity(&self, density: &[f64], out: &mut [f64], scratch: &mut Scratch) {
        assert_eq!(density.len(), self.cells);
        self.face_velocities(density, scratch, Par::Seq);
        out.copy_from_slice(&scratch.velocity);
    }

    /// The discrete energy `E_h = ½ Σ_ij m_i m_j K_{i-j} + ½ Σ_i m_i v_i`, `m_i = h ρ_i`: the
    /// exact `E[ρ] = ½ ∫∫ W ρ ρ + ½ ∫ v ρ` of the piecewise constant density, with the model's
    /// kernel (`W = e^{β(cos θ - 1)}/β` or `e^{β cos θ}/β`), summed in cell order.
    pub fn energy(&self, density: &[f64], scratch: &mut Scratch) -> f64 {
        assert_eq!(density.len(), self.cells);
        self.convolve(density, scratch);
        self.energy_from_convolution(density, scratch)
    }

    fn energy_from_convolution(&self, density: &[f64], scratch: &Scratch) -> f64 {
        let scale = self.model.kernel_scale();
        let sum: f64 = density
            .iter()
            .zip(&scratch.attention)
            .zip(&self.potential)
            .map(|((&rho, &phi), &v)| rho * (scale * phi + v))
            .sum();
        0.5 * self.h * sum
    }

    /// `dρ/dt` of `density` into `scratch.rhs`; returns `max_f |V_f|`.
    fn rhs(&self, density: &[f64], scratch: &mut Scratch, par: Par) -> f64 {
        let max_speed = self.face_velocities(density, scratch, par);
        let m = self.cells;
        let limiter = self.limiter;
        for_each_chunk(&mut scratch.slopes, par, |start, out| {
            for (offset, d) in out.iter_mut().enumerate() {
                let i = start + offset;
                let left = if i == 0 { m - 1 } else { i - 1 };
                let right = if i + 1 == m { 0 } else { i + 1 };
                *d = limiter.slope(density[i] - density[left], density[right] - density[i]);
            }
        });
        let slopes = &scratch.slopes;
        let velocity = &scratch.velocity;
        for_each_chunk(&mut scratch.flux, par, |start, out| {
            for (offset, flux) in out.iter_mut().enumerate() {
                let f = start + offset;
                let v = velocity[f];
                *flux = if v > 0.0 {
                    let left = if f == 0 { m - 1 } else { f - 1 };
                    v * (density[left] + 0.5 * slopes[left])
                } else {
                    v * (density[f] - 0.5 * slopes[f])
                };
            }
        });
        let flux = &scratch.flux;
        let inverse_h = 1.0 / self.h;
        for_each_chunk(&mut scratch.rhs, par, |start, out| {
            for (offset, r) in out.iter_mut().enumerate() {
                let i = start + offset;
                let right = if i + 1 == m { 0 } else { i + 1 };
                *r = (flux[i] - flux[right]) * inverse_h;
            }
        });
        max_speed
    }

    /// One SSP-RK3 step of `density`, in place, of `dt = min(cfl h / max_f |V_f|, dt_cap)`
    /// (`dt_cap` when the velocity vanishes).
    ///
    /// # Panics
    /// If `density` does not have `M` values or `dt_cap` is not positive.
    pub fn step(
        &self,
        density: &mut [f64],
        cfl: f64,
        dt_cap: f64,
        scratch: &mut Scratch,
        par: Par,
    ) -> StepReport {
        assert_eq!(density.len(), self.cells);
        assert!(dt_cap > 0.0, "dt_cap = {dt_cap}");
        let max_speed = self.rhs(density, scratch, par);
        let energy = self.energy_from_convolution(density, scratch);
        // The transport bound, and the attention's feedback: near the uniform state the velocity
        // vanishes while the mode rates (up to the stiffness times the mean density: about
        // 2,000 for the paper kernel at β = 10) do not, and a step beyond a fraction of their
        // inverse leaves the stability region of SSP-RK3.
        let mean_density = density.iter().sum::<f64>() / self.cells as f64;
        let cfl_dt = (cfl * self.h / max_speed).min(cfl / self.uniform_rate(mean_density));
        let dt = if cfl_dt.is_finite() && cfl_dt < dt_cap {
            cfl_dt
        } else {
            dt_cap
        };
        // u1 = u0 + dt L(u0), kept in `stage`; u0 in `start`.
        scratch.start.copy_from_slice(density);
        {
            let Scratch { stage, rhs, .. } = scratch;
            combine(stage, par, |i| density[i] + dt * rhs[i]);
        }
        self.symmetrize(&mut scratch.stage, &mut scratch.slopes);
        // u2 = ¾ u0 + ¼ (u1 + dt L(u1)).
        let stage = std::mem::take(&mut scratch.stage);
        self.rhs(&stage, scratch, par);
        {
            let Scratch { rhs, start, .. } = &*scratch;
            combine(density, par, |i| {
                0.75 * start[i] + 0.25 * (stage[i] + dt * rhs[i])
            });
        }
        scratch.stage = stage;
        self.symmetrize(density, &mut scratch.slopes);
        // u = ⅓ u0 + ⅔ (u2 + dt L(u2)); u2 is in `density`.
        scratch.stage.copy_from_slice(density);
        let stage = std::mem::take(&mut scratch.stage);
        self.rhs(&stage, scratch, par);
        {
            let Scratch { rhs, start, .. } = &*scratch;
            combine(density, par, |i| {
                (1.0 / 3.0) * start[i] + (2.0 / 3.0) * (stage[i] + dt * rhs[i])
            });
        }
        scratch.stage = stage;
        self.symmetrize(density, &mut scratch.slopes);
        StepReport {
            dt,
            max_speed,
            energy,
        }
    }
}

/// `out[i] = value(i)` for every cell, in tasks of `CELLS_PER_TASK` cells.
fn combine(out: &mut [f64], par: Par, value: impl Fn(usize) -> f64 + Sync) {
    for_each_chunk(out, par, |start, chunk| {
        for (offset, o) in chunk.iter_mut().enumerate() {
            *o = value(start + offset);
        }
    });
}

/// Calls `work(first_index, chunk)` on consecutive chunks of `out`; each value depends on its
/// index only, so the result is the same whatever the thread count.
fn for_each_chunk(out: &mut [f64], par: Par, work: impl Fn(usize, &mut [f64]) + Sync) {
    match par {
        Par::Seq => work(0, out),
        Par::Rayon => out
            .par_chunks_mut(CELLS_PER_TASK)
            .enumerate()
            .for_each(|(block, chunk)| work(block * CELLS_PER_TASK, chunk)),
    }
}

/// `max_k |M λ̂_k| 4 sin²(πk/M) / h²` over the modes `k` that are multiples of `order`:
/// `M λ̂_k` (`λ̂` the `spectrum`) is the eigenvalue of `ρ ↦ Φ^W` on mode `k`, and the discrete
/// second difference of the faces multiplies it by `4 sin²(πk/M) / h²`.
fn mode_stiffness(spectrum: &[Complex<f64>], cells: usize, h: f64, order: usize) -> f64 {
    spectrum
        .iter()
        .enumerate()
        .filter(|(k, _)| k % order == 0)
        .map(|(k, c)| {
            let sine = (std::f64::consts::PI * k as f64 / cells as f64).sin();
            (cells as f64 * c.re).abs() * 4.0 * sine * sine / (h * h)
        })
        .fold(0.0, f64::max)
}

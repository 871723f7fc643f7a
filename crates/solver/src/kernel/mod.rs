//! Fast pair kernels behind [`Dynamics::velocity`](crate::Dynamics::velocity) and
//! [`Dynamics::energy`](crate::Dynamics::energy).
//!
//! The field of a particle needs the pair sums `S_i = Σ_j m_j w_ij x_j` and
//! `Z_i = Σ_j m_j w_ij`; the energy needs `Σ_i m_i Z_i`. Three ways compute them:
//!
//! - [`FieldPath::Scalar`]: the plain row-by-row loop (`n²` weights, one at a time), kept as the
//!   baseline of benchmarks and tests.
//! - [`FieldPath::Direct`]: the tiled kernel of `direct`: each weight computed once for both
//!   of its particles (`w_ij = w_ji`), four lanes at a time with a vectorised `exp`
//!   (`exp`), on the [`Backend`] chosen at run time (AVX2 + FMA when the CPU has them, a
//!   portable fallback giving the same bits otherwise).
//! - [`FieldPath::Spectral`] (S^1 only): the Fourier expansion of the kernel in
//!   [`spectral`], `O(n K)` for `K` modes instead of `O(n²)`.
//!
//! [`PairKernel`] (the parameter `integrator.pair_kernel`) selects between the direct and the
//! spectral path, `auto` by a cost model. Every path is deterministic and independent of the
//! number of threads.

pub(crate) mod direct;
pub(crate) mod exp;
pub(crate) mod lanes;
pub mod spectral;

use lanes::{Lanes, Portable, WIDTH};

pub use crate::params::PairKernel;

/// The SIMD instruction set a lane kernel runs on. Both give the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Plain Rust over four-element arrays, any CPU.
    Portable,
    /// AVX2 + FMA (x86-64); falls back to `Portable` where the CPU lacks either.
    Avx2,
}

impl Backend {
    /// The fastest backend this CPU supports.
    pub fn detect() -> Backend {
        if avx2_available() {
            Backend::Avx2
        } else {
            Backend::Portable
        }
    }

    /// `self` if this CPU supports it, else `Portable`.
    pub fn supported(self) -> Backend {
        match self {
            Backend::Avx2 if avx2_available() => Backend::Avx2,
            _ => Backend::Portable,
        }
    }
}

/// Whether the CPU supports AVX2 and FMA (always false off x86-64).
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Which code computes the pair sums of the field and the energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldPath {
    /// The plain row-by-row loop.
    Scalar,
    /// The tiled symmetric kernel on a backend (dimensions up to 64; wider ones use `Scalar`).
    Direct(Backend),
    /// The Fourier expansion on S^1 (dimension 2 only; other dimensions use `Direct`).
    Spectral(Backend),
}

/// A computation written once over [`Lanes`] and run on a [`Backend`].
pub(crate) trait LaneTask {
    /// What the task returns.
    type Output;
    /// Runs the task on lanes `L`. Implementations are `#[inline(always)]`, so that the AVX2
    /// instantiation is compiled with the features of [`run_on`]'s AVX2 entry.
    fn run<L: Lanes>(self) -> Self::Output;
}

/// Runs `task` on `backend` (or the portable lanes where the CPU lacks it).
pub(crate) fn run_on<T: LaneTask>(backend: Backend, task: T) -> T::Output {
    #[cfg(target_arch = "x86_64")]
    if backend.supported() == Backend::Avx2 {
        // SAFETY: `supported` returned `Avx2` only because the CPU has AVX2 and FMA.
        return unsafe { run_avx2(task) };
    }
    let _ = backend;
    task.run::<Portable>()
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<T: LaneTask>(task: T) -> T::Output {
    task.run::<lanes::Avx2>()
}

/// Replaces every value `t` of `values` by `e^t`, computed by the kernels' vectorised `exp` on
/// `backend` (see the `exp` module doc for its domain: flush to zero below `f64::MIN_POSITIVE`).
pub fn exp_in_place(backend: Backend, values: &mut [f64]) {
    run_on(backend, ExpTask::<false>(values));
}

/// Replaces every value `u` of `values` by `2^u`, computed by the base-2 exponential the direct
/// pair kernel uses (inputs clamped to `[-1022, 1022]`, flush to zero below `-1022`).
pub fn exp2_in_place(backend: Backend, values: &mut [f64]) {
    run_on(backend, ExpTask::<true>(values));
}

/// `exp` (or `exp2` when `BASE2`) over a slice, four lanes at a time.
struct ExpTask<'a, const BASE2: bool>(&'a mut [f64]);

impl<const BASE2: bool> LaneTask for ExpTask<'_, BASE2> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lanes>(self) {
        let f = |x: L| if BASE2 { exp::exp2(x) } else { exp::exp(x) };
        let mut chunks = self.0.chunks_exact_mut(WIDTH);
        for chunk in &mut chunks {
            f(L::load(chunk)).store(chunk);
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mut padded = [0.0; WIDTH];
            padded[..rest.len()].copy_from_slice(rest);
            let mut out = [0.0; WIDTH];
            f(L::load(&padded)).store(&mut out);
            rest.copy_from_slice(&out[..rest.len()]);
        }
    }
}

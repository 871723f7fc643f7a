//! The mean-field limit of sphereflow's particle model on S^1 (MODEL.md §10): the density
//! `ρ(θ, t)` of infinitely many tokens solves `∂_t ρ + ∂_θ(ρ V) = 0`,
//! `V = s(∂_θ(W * ρ) + ½ v')`, solved here by positivity-preserving finite volumes (MUSCL,
//! upwind faces, FFT convolutions, SSP-RK3 under a CFL step), with the W1 distance on the circle
//! and the linear instability rates of the uniform state.
//!
//! Like the solver it builds on, this crate does no IO: it takes typed parameters and returns
//! plain data; parallelism ([`Par`](sphereflow_solver::Par)) and scratch space are explicit and
//! results do not depend on the thread count.
//!
//! ```
//! use sphereflow_meanfield::{solve, InitialLaw, MeanFieldParams, Model};
//! use sphereflow_solver::{Attention, Kernel, Par, Regime};
//! let model = Model::pure_attention(5.0, Kernel::Shifted, Attention::Usa, Regime::Ascent);
//! let params = MeanFieldParams::new(64, 0.5, 1.0, 3);
//! let initial = InitialLaw::Cosine { amplitude: 0.05, mode: 2 };
//! let result = solve(&model, &params, &initial, Par::Seq).unwrap();
//! assert_eq!(result.times, vec![0.0, 0.5, 1.0]);
//! assert!((result.mass.last().unwrap() - 1.0).abs() < 1e-13);
//! ```

pub mod error;
pub mod growth;
pub mod init;
pub mod observe;
pub mod params;
pub use sphereflow_solver::quadrature;
pub mod scheme;
pub mod solve;
pub mod spread;
pub mod theory;
pub mod wasserstein;

pub use error::MeanFieldError;
pub use growth::{
    measure_growth_rate, mode_amplitude, scheme_growth_rate, GrowthMeasurement, GrowthSetup,
};
pub use init::{InitialLaw, VonMises};
pub use observe::{as_run_result, density_atoms, COUNTED_CLUSTER_MASS, OBSERVED_MASS_FLOOR};
pub use params::{Limiter, MeanFieldParams, Model};
pub use scheme::{MeanField, Scratch, StepReport};
pub use solve::{check_step_budget, solve, solve_density, uniform_rate, MeanFieldResult};
pub use spread::{density_spread, particle_spread, DensitySpread, ParticleSpread};
pub use theory::growth_rate;
pub use wasserstein::{w1, w1_density_density, w1_particles_density, CircleMeasure};

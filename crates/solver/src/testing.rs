//! Helpers for tests, examples and benchmarks.

use crate::params::*;

/// Parameters equal to the documented defaults of DESIGN.md's table (the parameter schema in
/// `sphereflow-plan` is the source of truth; a test there checks that the two agree).
pub fn default_params() -> Params {
    Params {
        model: ModelParams {
            dim: 2,
            particles: 1000,
            beta: 1.0,
            kernel: Kernel::Shifted,
            attention: Attention::Usa,
            regime: Regime::Descent,
        },
        perceptron: PerceptronParams {
            activation: Activation::Relu,
            width: 2,
            scale: 1.0,
            scale_mode: ScaleMode::Std,
            leaky_slope: 0.01,
            seed: 777,
        },
        init: InitParams { seed: 42 },
        integrator: IntegratorParams {
            method: Method::Euler,
            dt: 0.1,
            retraction: Retraction::Exp,
            tol: 1e-6,
            pair_kernel: PairKernel::Auto,
        },
        stop: StopParams {
            max_steps: 200_000,
            t_max: None,
            drift_tol: 1e-4,
            check_every: 10,
            window: 5,
            certify: false,
            certify_merge: None,
            spread_tol: 1e-3,
        },
        measure: MeasureParams {
            cluster_scale: 0.5,
            cluster_cap: true,
            heavy_mass: 0.05,
            merge_tol: 0.0,
            frames: DEFAULT_FRAMES,
        },
    }
}

/// Default parameters for dimension `dim` (width and retraction follow the dimension, as their
/// defaults do).
pub fn default_params_in(dim: usize) -> Params {
    let mut params = default_params();
    params.model.dim = dim;
    params.perceptron.width = dim;
    params.integrator.retraction = if dim == 2 {
        Retraction::Exp
    } else {
        Retraction::Normalize
    };
    params
}

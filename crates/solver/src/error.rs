//! The solver's typed errors: each says where it happened.

use thiserror::Error;

/// Everything that can make a simulation fail.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SolverError {
    /// A parameter is outside the range the model is defined on.
    #[error("invalid parameter {key}: {reason}")]
    InvalidParameter {
        /// The parameter's path, `section.key`.
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// Supplied initial positions or perceptron weights have the wrong shape or values.
    #[error("invalid input {what}: {reason}")]
    InvalidInput {
        /// Which input (`initial positions`, `perceptron weights`).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A NaN or infinity appeared in the state.
    #[error("non-finite {quantity} at step {step} (t = {t}) for particle {particle}")]
    NonFinite {
        /// The step being taken.
        step: u64,
        /// Simulated time at the start of that step.
        t: f64,
        /// Index of the first offending particle.
        particle: usize,
        /// What was non-finite (`field`, `position`, `energy`).
        quantity: &'static str,
    },
    /// The time step is too large for the field: a single step would move a particle by more
    /// than half a great circle, so the trajectory no longer approximates the flow.
    #[error(
        "diverged at step {step} (t = {t}): particle {particle} would move {angle:.3} rad in one \
         step of dt = {dt}; reduce integrator.dt"
    )]
    Diverged {
        /// The step being taken.
        step: u64,
        /// Simulated time at the start of that step.
        t: f64,
        /// The offending particle.
        particle: usize,
        /// `dt |F_i|`.
        angle: f64,
        /// The time step.
        dt: f64,
    },
    /// The adaptive integrator's step size collapsed below what f64 time can resolve.
    #[error("adaptive step size underflow at step {step} (t = {t}): dt = {dt:e}")]
    StepSizeUnderflow {
        /// The step being taken.
        step: u64,
        /// Simulated time.
        t: f64,
        /// The rejected step size.
        dt: f64,
    },
    /// Certifying a stationary state (`stationary::certify`) failed in a numerical step.
    #[error("certification failed in {stage}: {reason}")]
    CertifyFailed {
        /// The step that failed (`field`, `eigendecomposition`, ...).
        stage: &'static str,
        /// What went wrong.
        reason: String,
    },
}
